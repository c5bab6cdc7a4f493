-- Clears the pending markers of jobs a worker has taken off the queue, so
-- the next dispatch of those monitors enqueues again. A marker is cleared
-- only if it still names the taken job's due time.
--
-- KEYS[1] pending: hash, monitor id -> due time of its queued job
-- ARGV pairs: monitor id, due time as in the job
--
-- Returns the number of markers cleared.
local cleared = 0
for i = 1, #ARGV, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
        redis.call('HDEL', KEYS[1], ARGV[i])
        cleared = cleared + 1
    end
end
return cleared
