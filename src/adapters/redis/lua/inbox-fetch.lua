-- Reads items after a sequence number.
-- KEYS[1]  inbox meta hash
-- KEYS[2]  items zset
-- ARGV[1]  after seq
-- ARGV[2]  most items to return
-- Returns  nil for an unknown inbox, else up to ARGV[2] + 1 members (an extra one means "more")
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
return redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]) + 1)
