-- Closes the open round: it becomes closed round ARGV[1] until every entry is released. O(1):
-- the zset is renamed, never read, whatever its size.
-- KEYS[1]  open round zset
-- KEYS[2]  set of closed, unreleased round ids
-- KEYS[3]  the closed round's zset (<shard tag>:c:<round id>)
-- ARGV[1]  round id
-- Returns  the number of entries in the closed round (0: nothing was open, nothing changed)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[3])
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('ZCARD', KEYS[3])
