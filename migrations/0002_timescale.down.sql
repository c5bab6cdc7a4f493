-- A hypertable cannot be turned back into a plain table in place; 0001's
-- down migration drops check_results entirely.
SELECT 1;
