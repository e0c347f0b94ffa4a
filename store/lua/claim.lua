-- Claims due members of a schedule (zset member -> due time) by moving their due time
-- to the end of a lease: a worker that dies mid-way loses the lease and the member comes
-- due again, so nothing is lost; a live worker holds it, so nothing runs twice at once.
-- With a hash in KEYS[2], returns [member, value, attempts, ...] and counts attempts.
-- KEYS: schedule[, values hash, attempts hash]. ARGV: now, lease end, at most n.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
  if KEYS[2] then
    local value = redis.call('HGET', KEYS[2], id)
    if value then
      table.insert(out, id)
      table.insert(out, value)
      table.insert(out, redis.call('HINCRBY', KEYS[3], id, 1))
    else
      redis.call('ZREM', KEYS[1], id)
    end
  else
    table.insert(out, id)
  end
end
return out
