-- Monitors are the source of truth (DESIGN.md invariant 1); everything in
-- Redis is rebuilt from this table.
CREATE TABLE monitors (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL,
    url              text        NOT NULL,
    method           text        NOT NULL,
    headers          jsonb       NOT NULL DEFAULT '{}',
    body             text        NOT NULL DEFAULT '',
    interval_seconds integer     NOT NULL CHECK (interval_seconds BETWEEN 1 AND 86400),
    timeout_ms       integer     NOT NULL CHECK (timeout_ms BETWEEN 100 AND 60000),
    expected_status  text        NOT NULL,
    follow_redirects boolean     NOT NULL,
    verify_tls       boolean     NOT NULL,
    enabled          boolean     NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX monitors_updated_at ON monitors (updated_at);

-- The last known state of each monitor. The live state is decided in Redis
-- (invariant 5); workers write it here in batches, one row per monitor per
-- batch. No foreign key: a late result of a deleted monitor must not fail a
-- batch, and housekeeping purges orphans through deleted_monitors.
CREATE TABLE monitor_state (
    monitor_id            bigint PRIMARY KEY,
    status                text        NOT NULL,
    status_since          timestamptz NOT NULL,
    last_check_at         timestamptz NOT NULL,
    last_ok               boolean     NOT NULL,
    last_status_code      integer,
    last_latency_ms       real        NOT NULL,
    last_error            text        NOT NULL DEFAULT '',
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    consecutive_successes integer     NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

-- Raw results. A hypertable when TimescaleDB is usable (0002).
CREATE TABLE check_results (
    time        timestamptz NOT NULL,
    monitor_id  bigint      NOT NULL,
    ok          boolean     NOT NULL,
    status_code smallint,
    latency_ms  real        NOT NULL,
    dns_ms      real,
    connect_ms  real,
    tls_ms      real,
    ttfb_ms     real,
    error_kind  text,
    error       text,
    worker      text        NOT NULL
);
CREATE INDEX check_results_monitor_time ON check_results (monitor_id, time DESC);
CREATE INDEX check_results_time ON check_results (time);

-- Hourly rollups, maintained by the batch writer in the same transaction as
-- the raw rows. Sums and counts merge exactly; latency figures cover
-- successful checks; latency_hist counts successful checks per latency
-- bucket (bounds in internal/store/histogram.go) for approximate p95.
CREATE TABLE check_rollups_hourly (
    monitor_id     bigint           NOT NULL,
    bucket         timestamptz      NOT NULL,
    checks         integer          NOT NULL,
    failures       integer          NOT NULL,
    latency_sum_ms double precision NOT NULL,
    latency_min_ms real,
    latency_max_ms real,
    latency_hist   integer[]        NOT NULL,
    PRIMARY KEY (monitor_id, bucket)
) WITH (fillfactor = 70); -- room for HOT updates: each batch rewrites the current hour's rows
CREATE INDEX check_rollups_hourly_bucket ON check_rollups_hourly (bucket);

-- Deleted monitors whose results are still being purged in the background,
-- so that DELETE answers at once however many results a monitor has.
CREATE TABLE deleted_monitors (
    monitor_id bigint PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
