-- Removes items up to and including a sequence number.
-- KEYS[1]  inbox meta hash
-- KEYS[2]  items zset
-- ARGV[1]  up to seq
-- Returns  -1 for an unknown inbox, else the number of items removed
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #gone == 0 then
  return 0
end
local bytes = 0
for _, member in ipairs(gone) do
  bytes = bytes + #member - 24
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'c', -#gone)
redis.call('HINCRBY', KEYS[1], 'b', -bytes)
return #gone
