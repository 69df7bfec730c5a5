-- Readies an inbox for a deposit: creates it if it does not exist, extends its expiry day, and
-- reports whether the message id was already delivered and what the inbox stores. The inbox id
-- commits to the write token, so there is nothing to check here.
-- KEYS[1]  inbox meta hash ({P:i:<id>}:m): e expiry day, n next seq, c items, b bytes
-- KEYS[2]  message ids zset ({P:i:<id>}:d)
-- ARGV[1]  message id (16 bytes)
-- ARGV[2]  expiry day to extend to (days since the Unix epoch)
-- ARGV[3]  1 if the relay holds as many inboxes as it may: a new one is then not created
-- Returns  { created (0 or 1), duplicate (0 or 1), items stored, bytes stored }, or "full"
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '1' then
    return 'full'
  end
  redis.call('HSET', KEYS[1], 'e', ARGV[2], 'n', 1, 'c', 0, 'b', 0)
  return { 1, 0, 0, 0 }
end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'e')) then
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
end
local duplicate = 0
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  duplicate = 1
end
local usage = redis.call('HMGET', KEYS[1], 'c', 'b')
return { 0, duplicate, tonumber(usage[1]), tonumber(usage[2]) }
