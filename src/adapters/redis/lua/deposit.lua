-- One deposit in one step, on one Redis server only (its keys are in several cluster slots; on a
-- cluster the relay runs the steps one by one): records the request's replay record, readies
-- the inbox as inbox-admit.lua does (with the expiry registration the relay otherwise sends
-- before it) and adds the entry to the open round as pool-add.lua does. Atomic, so no crash can
-- leave part of it done; the writes are the same as those steps', in the same keys.
-- Without a replay record (the caller recorded it), KEYS[8], KEYS[9] and ARGV[11] are left out.
-- KEYS[1]  expiry index zset ({P:expiry}): inbox id -> the day after its earliest expiry day
-- KEYS[2]  inbox meta hash ({P:i:<id>}:m): e expiry day, n next seq, c items, b bytes
-- KEYS[3]  inbox message ids zset ({P:i:<id>}:d)
-- KEYS[4]  open round zset (<shard tag>:open), members "<inbox hex>/<message id hex>"
-- KEYS[5]  this entry's item string (<shard tag>:e:<member>)
-- KEYS[6]  pending item counts zset (<shard tag>:pi), member inbox hex
-- KEYS[7]  pending byte counts zset (<shard tag>:pb), member inbox hex
-- KEYS[8]  the record's replay shard set ({P:x:<key tag>:<n>})
-- KEYS[9]  the key's unsharded replay set ({P:x:<key tag>}), read only
-- ARGV[1]  inbox id (bytes);  ARGV[2]  inbox id (hex);  ARGV[3]  message id (bytes)
-- ARGV[4]  member name;  ARGV[5]  item (padded bytes)
-- ARGV[6]  expiry day to extend to (days since the Unix epoch)
-- ARGV[7]  most inboxes the relay holds: a new one is refused once the expiry index has that many
-- ARGV[8]  quota: max items;  ARGV[9]  quota: max bytes
-- ARGV[10] sort key: an integer in [2^52, 2^53) (exact as a zset score, never a time)
-- ARGV[11] replay record (enc)
-- Returns  "replay", "full", "duplicate", "quota" or "added"
if #KEYS == 9 then
  if redis.call('SISMEMBER', KEYS[9], ARGV[11]) == 1 or redis.call('SADD', KEYS[8], ARGV[11]) == 0 then
    return 'replay'
  end
end
local day = tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[7]) then
    return 'full'
  end
  redis.call('ZADD', KEYS[1], 'LT', day + 1, ARGV[1])
  redis.call('HSET', KEYS[2], 'e', day, 'n', 1, 'c', 0, 'b', 0)
else
  redis.call('ZADD', KEYS[1], 'LT', day + 1, ARGV[1])
  if day > tonumber(redis.call('HGET', KEYS[2], 'e')) then
    redis.call('HSET', KEYS[2], 'e', day)
  end
  if redis.call('ZSCORE', KEYS[3], ARGV[3]) then
    return 'duplicate'
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  return 'duplicate'
end
local stored = redis.call('HMGET', KEYS[2], 'c', 'b')
local items = tonumber(redis.call('ZSCORE', KEYS[6], ARGV[2]) or '0')
local bytes = tonumber(redis.call('ZSCORE', KEYS[7], ARGV[2]) or '0')
local size = #ARGV[5]
if tonumber(stored[1]) + items + 1 > tonumber(ARGV[8]) or tonumber(stored[2]) + bytes + size > tonumber(ARGV[9]) then
  return 'quota'
end
redis.call('SET', KEYS[5], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[10], ARGV[4])
redis.call('ZINCRBY', KEYS[6], 1, ARGV[2])
redis.call('ZINCRBY', KEYS[7], size, ARGV[2])
return 'added'
