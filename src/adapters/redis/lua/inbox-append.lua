-- Appends one closed round's entries for one inbox in the given (already shuffled) order,
-- skipping message ids the inbox already holds, so a round delivered twice appends once.
-- KEYS[1]  inbox meta hash
-- KEYS[2]  items zset: score = seq, member = seq (16 digits) .. expiry day (8 digits) .. item
-- KEYS[3]  message ids zset: score = expiry day, member = message id
-- ARGV[1]  expiry day of the appended items
-- ARGV[2], ARGV[3], ...  message id, item, message id, item, ...
-- Returns  the number of entries appended (0 when the inbox does not exist)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local day = tonumber(ARGV[1])
local seq = tonumber(redis.call('HGET', KEYS[1], 'n'))
local appended, bytes = 0, 0
for i = 2, #ARGV, 2 do
  local id, item = ARGV[i], ARGV[i + 1]
  if not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('ZADD', KEYS[3], day, id)
    redis.call('ZADD', KEYS[2], seq, string.format('%016.0f%08.0f', seq, day) .. item)
    seq = seq + 1
    appended = appended + 1
    bytes = bytes + #item
  end
end
redis.call('HSET', KEYS[1], 'n', seq)
redis.call('HINCRBY', KEYS[1], 'c', appended)
redis.call('HINCRBY', KEYS[1], 'b', bytes)
if day > tonumber(redis.call('HGET', KEYS[1], 'e')) then
  redis.call('HSET', KEYS[1], 'e', day)
end
return appended
