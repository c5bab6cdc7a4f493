-- Puts monitors on the schedule, or changes their interval. A monitor that
-- is already scheduled at the same interval keeps its due time, so the api
-- and the reconcile loop can call this freely; a new monitor, or one whose
-- interval changed, is first due at now + its offset, where the caller draws
-- the offset uniformly from [0, interval) to spread monitors created together
-- over the interval (DESIGN.md invariant 4).
--
-- KEYS[1] schedule: sorted set, monitor id -> next due time (Unix ms)
-- KEYS[2] intervals: hash, monitor id -> interval (ms)
-- ARGV[1] now (Unix ms)
-- ARGV[2..] triples: monitor id, interval (ms), offset (ms)
--
-- Returns the number of monitors whose due time was set.
local now = tonumber(ARGV[1])
local set = 0
for i = 2, #ARGV, 3 do
    local id, interval, offset = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    local old = redis.call('HGET', KEYS[2], id)
    local scheduled = redis.call('ZSCORE', KEYS[1], id)
    if old ~= interval or not scheduled then
        redis.call('HSET', KEYS[2], id, interval)
        redis.call('ZADD', KEYS[1], now + offset, id)
        set = set + 1
    end
end
return set
