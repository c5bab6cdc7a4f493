-- Incidents and alerting (issue 4): channels, incidents with a timeline,
-- the delivery outbox, maintenance windows and certificate notices.

-- How a monitor alerts. confirmations: consecutive failures before an
-- incident opens (2: one retry first); recovery_confirmations: consecutive
-- successes before it resolves; reminder_minutes: 0 means no reminders;
-- cert_alert_days: days before a certificate's expiry at which to warn,
-- once per threshold crossed.
ALTER TABLE monitors
    ADD COLUMN confirmations          smallint  NOT NULL DEFAULT 2 CHECK (confirmations BETWEEN 1 AND 100),
    ADD COLUMN recovery_confirmations smallint  NOT NULL DEFAULT 1 CHECK (recovery_confirmations BETWEEN 1 AND 100),
    ADD COLUMN reminder_minutes       integer   NOT NULL DEFAULT 0 CHECK (reminder_minutes BETWEEN 0 AND 10080),
    ADD COLUMN cert_alert_days        integer[] NOT NULL DEFAULT '{14,7,3,1}';

-- Notification channels. Secrets (webhook URLs, tokens, passwords) are kept
-- like monitors' secrets: plain JSON without PINGUIN_SECRET_KEY, sealed
-- with it. A default channel notifies for every monitor.
CREATE TABLE channels (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL,
    type           text        NOT NULL,
    settings       jsonb       NOT NULL DEFAULT '{}',
    secrets        jsonb       NOT NULL DEFAULT '{}',
    secrets_sealed bytea,
    is_default     boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE monitor_channels (
    monitor_id bigint NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    channel_id bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    PRIMARY KEY (monitor_id, channel_id)
);
CREATE INDEX monitor_channels_channel ON monitor_channels (channel_id);

-- An incident is one outage of one monitor: opened when the monitor's
-- consecutive failures reach its confirmations, resolved when its
-- consecutive successes reach its recovery_confirmations. The partial
-- unique index is what makes "one open incident per monitor" hold however
-- many workers decide at once: a second insert does nothing.
CREATE TABLE incidents (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    monitor_id       bigint      NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    started_at       timestamptz NOT NULL, -- the first failing check of the outage
    resolved_at      timestamptz,          -- null while open
    resolution       text,                 -- recovered or paused
    error            text        NOT NULL DEFAULT '', -- the first failing check's
    status_code      integer,
    failed_checks    integer     NOT NULL DEFAULT 0,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    next_reminder_at timestamptz
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (monitor_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_monitor ON incidents (monitor_id, id DESC);
CREATE INDEX incidents_started ON incidents (started_at);
CREATE INDEX incidents_reminders ON incidents (next_reminder_at)
    WHERE resolved_at IS NULL AND next_reminder_at IS NOT NULL;

-- The timeline of an incident: opened, notified (channel_id), notify_failed
-- (channel_id, a dead letter), reminder, acknowledged, resolved.
CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint      NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text        NOT NULL,
    channel_id  bigint,
    message     text        NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- The outbox: one row per (event, channel), written in the transaction that
-- wrote the event, delivered by workers. idempotency_key is unique, so an
-- event is never queued twice for a channel, and it is sent to providers
-- that deduplicate. state: pending (attempts so far, next_attempt_at, and
-- a lease while a worker sends it), delivered, or dead (gave up: a dead
-- letter, shown by the API and counted in metrics).
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    channel_id      bigint      NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    monitor_id      bigint      NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    incident_id     bigint      REFERENCES incidents (id) ON DELETE CASCADE, -- null for certificate warnings
    kind            text        NOT NULL, -- down, up, reminder, cert
    payload         jsonb       NOT NULL, -- what the message tells, fixed when queued
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    locked_by       text,
    last_status     integer,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_incident ON deliveries (incident_id, channel_id, id);
CREATE INDEX deliveries_state ON deliveries (state, id);

-- Maintenance windows: one-off (starts_at, ends_at) or recurring (cron in
-- time_zone, each lasting duration_seconds), for listed monitors or all.
-- During a window checks run and are stored, flagged; no incident opens.
CREATE TABLE maintenance_windows (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL,
    all_monitors     boolean     NOT NULL DEFAULT false,
    monitor_ids      bigint[]    NOT NULL DEFAULT '{}',
    starts_at        timestamptz,
    ends_at          timestamptz,
    cron             text        NOT NULL DEFAULT '',
    time_zone        text        NOT NULL DEFAULT 'UTC',
    duration_seconds integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Certificate warnings sent: one row per (monitor, certificate, threshold),
-- so each threshold is notified once per certificate.
CREATE TABLE cert_notices (
    monitor_id  bigint      NOT NULL REFERENCES monitors (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    days        integer     NOT NULL,
    notified_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (monitor_id, expires_at, days)
);

-- Checks made during a maintenance window are stored and flagged, and the
-- rollups count them apart, so uptime can leave them out.
ALTER TABLE check_results ADD COLUMN maintenance boolean NOT NULL DEFAULT false;
ALTER TABLE check_rollups_hourly
    ADD COLUMN maintenance          integer NOT NULL DEFAULT 0,
    ADD COLUMN maintenance_failures integer NOT NULL DEFAULT 0;
