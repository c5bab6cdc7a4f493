-- TimescaleDB, when it is really usable (DESIGN.md invariant 7): listed in
-- pg_available_extensions AND preloaded (without preloading CREATE EXTENSION
-- is a FATAL error that drops the connection). Compression and its policy
-- also need the community license; the Apache-only build refuses them.
-- On plain PostgreSQL this migration does nothing and check_results stays
-- an ordinary table; every query in internal/store works on both.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
       OR coalesce(current_setting('shared_preload_libraries', true), '') NOT LIKE '%timescaledb%' THEN
        RAISE NOTICE 'pinguin: TimescaleDB is not usable here; check_results stays a plain table';
        RETURN;
    END IF;

    CREATE EXTENSION IF NOT EXISTS timescaledb;
    PERFORM create_hypertable('check_results', 'time',
        chunk_time_interval => INTERVAL '1 day', migrate_data => true, if_not_exists => true);

    IF coalesce(current_setting('timescaledb.license', true), '') = 'timescale' THEN
        ALTER TABLE check_results SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'monitor_id',
            timescaledb.compress_orderby = 'time DESC'
        );
        PERFORM add_compression_policy('check_results', INTERVAL '2 days', if_not_exists => true);
    ELSE
        RAISE NOTICE 'pinguin: TimescaleDB without the community license; no compression';
    END IF;
END
$$;
