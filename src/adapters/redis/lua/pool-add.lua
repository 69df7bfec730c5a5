-- Adds a deposit to the open round unless it is already pending (open or closed-unreleased
-- round) or the inbox's stored plus pending usage would exceed its quota. The open round is a
-- zset scored by a sort key from the caller (the inbox's group, then a number drawn from the
-- CSPRNG), so it lists (and a closed round pages) its entries in an order that has nothing to do
-- with arrival.
-- KEYS[1]  open round zset (<shard tag>:open), members "<inbox hex>/<message id hex>"
-- KEYS[2]  this entry's item string (<shard tag>:e:<member>)
-- KEYS[3]  pending item counts zset (<shard tag>:pi), member inbox hex
-- KEYS[4]  pending byte counts zset (<shard tag>:pb), member inbox hex
-- ARGV[1]  inbox id (hex)
-- ARGV[2]  member name
-- ARGV[3]  item (padded bytes)
-- ARGV[4]  items stored in the inbox;  ARGV[5]  bytes stored in the inbox
-- ARGV[6]  quota: max items;           ARGV[7]  quota: max bytes
-- ARGV[8]  sort key: an integer in [2^52, 2^53) (exact as a zset score, never a time)
-- Returns  "added", "duplicate" or "quota"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 'duplicate'
end
local items = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '0')
local bytes = tonumber(redis.call('ZSCORE', KEYS[4], ARGV[1]) or '0')
local size = #ARGV[3]
if tonumber(ARGV[4]) + items + 1 > tonumber(ARGV[6]) or tonumber(ARGV[5]) + bytes + size > tonumber(ARGV[7]) then
  return 'quota'
end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[8], ARGV[2])
redis.call('ZINCRBY', KEYS[3], 1, ARGV[1])
redis.call('ZINCRBY', KEYS[4], size, ARGV[1])
return 'added'
