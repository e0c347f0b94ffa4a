-- Writes a topic version like incident.lua writes an incident: an identical or older
-- version changes nothing; an event goes out when the topic appears or changes state.
-- KEYS: topic, topics index of its brand, events. ARGV: document, id, last window,
-- state, updated window, events kept.
local old = redis.call('GET', KEYS[1])
if old == ARGV[1] then return false end
local kind = 'topic.opened'
if old then
  local prev = cjson.decode(old)
  local prev_at = tonumber(prev['updated_window'])
  if prev_at ~= nil and prev_at > tonumber(ARGV[5]) then return false end
  kind = false
  if prev['state'] ~= ARGV[4] then kind = 'topic.' .. ARGV[4] end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
if kind then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'type', kind, 'data', ARGV[1])
end
return 1
