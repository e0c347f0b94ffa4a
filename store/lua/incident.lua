-- Writes an incident version and publishes its event in one step, so a reader of the
-- stream never sees an event for a version that is not stored, nor a version without its
-- event. An identical re-emission (Bytewax recovery) and an older version arriving after
-- a newer one (a replay from a snapshot) change nothing and publish nothing.
-- KEYS: alert, alerts index, brand's alerts index, events. ARGV: document, id,
-- last window, state, updated window, events kept.
local old = redis.call('GET', KEYS[1])
if old == ARGV[1] then return false end
local kind = 'incident.opened'
if old then
  local prev = cjson.decode(old)
  local prev_at = tonumber(prev['updated_window'])
  if prev_at ~= nil and prev_at > tonumber(ARGV[5]) then return false end
  kind = 'incident.updated'
  if ARGV[4] == 'resolved' and prev['state'] ~= 'resolved' then kind = 'incident.resolved' end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'type', kind, 'data', ARGV[1])
