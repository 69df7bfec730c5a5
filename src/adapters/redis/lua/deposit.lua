-- One deposit in one step, on one Redis server only (its keys are in several cluster slots; on a
-- cluster the relay runs the steps one by one): records the request's replay record, readies
-- the inbox with inbox-admit.lua (after the expiry registration the relay otherwise sends before
-- it) and adds the entry to the open round with pool-add.lua: both are included below as
-- functions (redis-scripts.ts), so their rules are written once. Atomic, so no crash can leave
-- part of it done; the writes are those steps', in the same keys.
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
-- include: inbox-admit.lua as admit
-- include: pool-add.lua as add
if #KEYS == 9 then
  if redis.call('SISMEMBER', KEYS[9], ARGV[11]) == 1 or redis.call('SADD', KEYS[8], ARGV[11]) == 0 then
    return 'replay'
  end
end
-- Counted here, at each new inbox, where the relay's own count is at most a second old.
local full = redis.call('EXISTS', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[7])
if not full then
  redis.call('ZADD', KEYS[1], 'LT', tonumber(ARGV[6]) + 1, ARGV[1])
end
local admitted = admit({ KEYS[2], KEYS[3] }, { ARGV[3], ARGV[6], full and '1' or '0' })
if admitted == 'full' then
  return 'full'
end
if admitted[2] == 1 then
  return 'duplicate'
end
return add(
  { KEYS[4], KEYS[5], KEYS[6], KEYS[7] },
  { ARGV[2], ARGV[4], ARGV[5], admitted[3], admitted[4], ARGV[8], ARGV[9], ARGV[10] }
)
