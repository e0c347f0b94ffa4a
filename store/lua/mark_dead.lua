-- The flow's status says `dead` only if it is still the status of the process found
-- gone: compare-and-set, so a restarted flow's `running` is never overwritten.
-- KEYS: stats. ARGV: pid, host, reason.
local f = redis.call('HMGET', KEYS[1], 'status_pid', 'status_host', 'status_state')
if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] or f[3] ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status_state', 'dead', 'status_error', ARGV[3])
return 1
