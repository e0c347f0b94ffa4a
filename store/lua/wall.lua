-- One brand's tile on the wall, summed where the data lives: the last day of windows
-- as a few buckets of mentions and expected mentions (a day of 5-min windows is 288
-- records of some hundred bytes each; the wall shows 24 numbers), and the newest
-- incidents reduced to what a tile says. Read-only.
-- KEYS: the brand's series index, series, incidents index. ARGV: span (s), buckets,
-- incidents, the incident key's prefix (an incident's key is it and the id). Returns JSON: {last, window_s, counts, expected, incidents}.
local last = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local out = {counts = {}, expected = {}, incidents = {}}
local n = tonumber(ARGV[2])
for i = 1, n do out.counts[i] = 0; out.expected[i] = 0 end
if #last > 0 then
  local to = tonumber(last[2])
  local span = tonumber(ARGV[1])
  local from = to - span
  local step = span / n
  out.last = to
  local starts = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. from, to)
  if #starts > 0 then
    local records = redis.call('HMGET', KEYS[2], unpack(starts))
    for _, raw in ipairs(records) do
      if raw then
        local w = cjson.decode(raw)
        local b = math.min(n, math.floor((w.window_start - from - 1) / step) + 1) -- (from, to]
        out.counts[b] = out.counts[b] + (w.count or 0)
        out.expected[b] = out.expected[b] + (w.expected or 0)
        out.window_s = w.window_end - w.window_start
      end
    end
  end
end
local ids = redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[3]) - 1)
for i, id in ipairs(ids) do
  local raw = redis.call('GET', ARGV[4] .. id)
  if raw then
    local a = cjson.decode(raw)
    local x = a.explanation or {}
    out.incidents[i] = {id = a.id, severity = a.severity, state = a.state,
      headline = a.headline, summary = x.summary, lift = x.lift, kinds = a.kinds,
      first_window = a.first_window, last_window = a.last_window}
  end
end
return cjson.encode(out)
