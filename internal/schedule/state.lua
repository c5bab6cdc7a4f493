-- Folds check results into the live state of their monitors, atomically, so
-- that results from many workers never race (DESIGN.md invariant 5). A
-- result no newer than the monitor's last one changes nothing.
--
-- KEYS[1] states: hash, monitor id -> "status,since_ms,last_ms,failures,successes"
-- ARGV groups of four: monitor id, check time (Unix ms), ok ("1" or "0"),
-- degraded ("1" or "0": succeeded but not healthy)
--
-- Returns, per group, five values: status, since_ms, consecutive failures,
-- consecutive successes, and a flag: 1 applied, 0 ignored as not newer,
-- -1 no state stored (the caller seeds it from PostgreSQL and asks again).
local out = {}
for i = 1, #ARGV, 4 do
    local id, t, ok, degraded = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', ARGV[i + 3] == '1'
    local packed = redis.call('HGET', KEYS[1], id)
    if not packed then
        for _, v in ipairs({'', 0, 0, 0, -1}) do out[#out + 1] = v end
    else
        local status, since, last, failures, successes =
            string.match(packed, '^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$')
        since, last = tonumber(since), tonumber(last)
        failures, successes = tonumber(failures), tonumber(successes)
        local flag = 0
        if t > last then
            flag = 1
            last = t
            local now = 'down'
            if ok then
                now = 'up'
                if degraded then now = 'degraded' end
                successes, failures = successes + 1, 0
            else
                failures, successes = failures + 1, 0
            end
            if now ~= status then
                status, since = now, t
            end
            redis.call('HSET', KEYS[1], id, string.format('%s,%d,%d,%d,%d', status, since, last, failures, successes))
        end
        for _, v in ipairs({status, since, failures, successes, flag}) do out[#out + 1] = v end
    end
end
return out
