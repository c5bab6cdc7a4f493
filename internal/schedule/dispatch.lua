-- Claims due monitors, reschedules each at its own interval, and enqueues a
-- job per monitor whose previous job is not still queued (DESIGN.md
-- invariants 2, 3 and 4). Runs atomically, so any number of schedulers may
-- call it at once and a due time is claimed exactly once.
--
-- KEYS[1] schedule: sorted set, monitor id -> next due time (Unix ms)
-- KEYS[2] intervals: hash, monitor id -> interval (ms)
-- KEYS[3] pending: hash, monitor id -> due time of its queued job
-- KEYS[4] queue: list of jobs "id:due_ms:interval_ms" (LPUSH here, workers pop the right end)
-- ARGV[1] now (Unix ms)
-- ARGV[2] the most ids to claim
--
-- Returns {enqueued, skipped because still queued, removed because unknown}.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local enqueued, skipped, removed = 0, 0, 0
for i = 1, #due, 2 do
    local id, at = due[i], tonumber(due[i + 1])
    local interval = tonumber(redis.call('HGET', KEYS[2], id))
    if not interval then
        redis.call('ZREM', KEYS[1], id)
        removed = removed + 1
    else
        -- Next slot on the monitor's own cadence: missed slots are skipped,
        -- not replayed, and the phase (the spread over the interval) stays.
        local nxt = at + (math.floor((now - at) / interval) + 1) * interval
        redis.call('ZADD', KEYS[1], nxt, id)
        local queued = tonumber(redis.call('HGET', KEYS[3], id))
        -- A marker older than two intervals belongs to a job lost with a
        -- crashed worker: it no longer blocks the monitor.
        if queued and queued > now - 2 * interval then
            skipped = skipped + 1
        else
            local stamp = string.format('%d', at)
            redis.call('HSET', KEYS[3], id, stamp)
            redis.call('LPUSH', KEYS[4], id .. ':' .. stamp .. ':' .. string.format('%d', interval))
            enqueued = enqueued + 1
        end
    end
end
return {enqueued, skipped, removed}
