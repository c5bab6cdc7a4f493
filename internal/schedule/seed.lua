-- Seeds the live state of monitors that have none in Redis (after Redis was
-- flushed or replaced) from what PostgreSQL last stored. An existing state
-- is never overwritten: another worker may have seeded it first.
--
-- KEYS[1] states: hash, monitor id -> "status,since_ms,last_ms,failures,successes"
-- ARGV pairs: monitor id, packed state
--
-- Returns the number of states seeded.
local seeded = 0
for i = 1, #ARGV, 2 do
    seeded = seeded + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
return seeded
