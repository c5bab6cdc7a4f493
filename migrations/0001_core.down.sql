DROP TABLE IF EXISTS deleted_monitors;
DROP TABLE IF EXISTS check_rollups_hourly;
DROP TABLE IF EXISTS check_results;
DROP TABLE IF EXISTS monitor_state;
DROP TABLE IF EXISTS monitors;
