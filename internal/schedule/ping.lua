-- Records a heartbeat ping: moves the monitor's deadline and queues the
-- ping for a worker to store with the other results, so that a burst of
-- pings costs Redis operations, not PostgreSQL rows one at a time.
--
-- KEYS[1] schedule: sorted set, monitor id -> next due time (Unix ms)
-- KEYS[2] intervals: hash, monitor id -> interval (ms)
-- KEYS[3] pings: list of "id:time_ms:kind:duration_ms" (LPUSH here, workers pop the right end)
-- KEYS[4] starts: hash, monitor id -> time of its last /start ping (Unix ms)
-- ARGV[1] monitor id
-- ARGV[2] now (Unix ms)
-- ARGV[3] kind: "start", "ok" or "fail"
-- ARGV[4] the new deadline (Unix ms), for ok and fail
-- ARGV[5] interval (ms), for ok and fail
-- ARGV[6] the most pings the list may hold; older ones are dropped
--
-- Returns the run's duration in ms (since its /start ping; 0 without one),
-- or -1 when pings were dropped because the list was full.
local id, now, kind = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if kind == 'start' then
    redis.call('HSET', KEYS[4], id, ARGV[2])
    return 0
end
local duration = 0
local started = tonumber(redis.call('HGET', KEYS[4], id))
if started then
    redis.call('HDEL', KEYS[4], id)
    if started <= now then duration = now - started end
end
redis.call('HSET', KEYS[2], id, ARGV[5])
redis.call('ZADD', KEYS[1], tonumber(ARGV[4]), id)
local n = redis.call('LPUSH', KEYS[3], id .. ':' .. ARGV[2] .. ':' .. kind .. ':' .. string.format('%d', duration))
if n > tonumber(ARGV[6]) then
    redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
    return -1
end
return duration
