ALTER TABLE monitor_state DROP COLUMN IF EXISTS last_degraded;
ALTER TABLE check_rollups_hourly DROP COLUMN IF EXISTS degraded;
ALTER TABLE check_results DROP COLUMN IF EXISTS cert_expires_at, DROP COLUMN IF EXISTS degraded;
ALTER TABLE monitors DROP COLUMN IF EXISTS ping_token, DROP COLUMN IF EXISTS secrets_sealed,
    DROP COLUMN IF EXISTS secrets, DROP COLUMN IF EXISTS settings, DROP COLUMN IF EXISTS type;
