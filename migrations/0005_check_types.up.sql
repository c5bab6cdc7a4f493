-- Check types (http, tcp, dns, tls, icmp, heartbeat) and the degraded state.
ALTER TABLE monitors
    ADD COLUMN type           text  NOT NULL DEFAULT 'http'
        CHECK (type IN ('http', 'tcp', 'dns', 'tls', 'icmp', 'heartbeat')),
    -- Settings of the monitor's type that are not secrets (host, port,
    -- record type, assertions, cron, ...), as JSON.
    ADD COLUMN settings       jsonb NOT NULL DEFAULT '{}',
    -- Secrets other than headers (basic-auth password, bearer token, client
    -- key, proxy URL): plain JSON without PINGUIN_SECRET_KEY, sealed with it.
    ADD COLUMN secrets        jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN secrets_sealed bytea,
    -- Heartbeat monitors' ping URL token.
    ADD COLUMN ping_token     text UNIQUE;

-- A degraded check succeeded but is not healthy (slow, losing packets,
-- certificate close to expiry); it counts as up in uptime and is reported
-- apart.
ALTER TABLE check_results
    ADD COLUMN degraded        boolean NOT NULL DEFAULT false,
    ADD COLUMN cert_expires_at timestamptz;
ALTER TABLE check_rollups_hourly ADD COLUMN degraded integer NOT NULL DEFAULT 0;
ALTER TABLE monitor_state ADD COLUMN last_degraded boolean NOT NULL DEFAULT false;
