ALTER TABLE check_rollups_hourly DROP COLUMN IF EXISTS maintenance_failures, DROP COLUMN IF EXISTS maintenance;
ALTER TABLE check_results DROP COLUMN IF EXISTS maintenance;
DROP TABLE IF EXISTS cert_notices;
DROP TABLE IF EXISTS maintenance_windows;
DROP TABLE IF EXISTS deliveries;
DROP TABLE IF EXISTS incident_events;
DROP TABLE IF EXISTS incidents;
DROP TABLE IF EXISTS monitor_channels;
DROP TABLE IF EXISTS channels;
ALTER TABLE monitors DROP COLUMN IF EXISTS cert_alert_days, DROP COLUMN IF EXISTS reminder_minutes,
    DROP COLUMN IF EXISTS recovery_confirmations, DROP COLUMN IF EXISTS confirmations;
