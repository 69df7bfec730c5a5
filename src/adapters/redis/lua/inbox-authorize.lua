-- Checks an inbox's write token hash, creating the inbox if it does not exist (the first token
-- wins), and extends its expiry day. The comparison runs over every byte whatever they hold.
-- KEYS[1]  inbox meta hash ({P:i:<id>}:m): t token hash, e expiry day, n next seq, c items, b bytes,
--          s commit slot holder (see inbox-commit-slot.lua)
-- ARGV[1]  write token hash (32 bytes)
-- ARGV[2]  expiry day to extend to (days since the Unix epoch)
-- Returns  "created", "ok" or "forbidden"
local stored = redis.call('HGET', KEYS[1], 't')
if not stored then
  redis.call('HSET', KEYS[1], 't', ARGV[1], 'e', ARGV[2], 'n', 1, 'c', 0, 'b', 0)
  return 'created'
end
local given = ARGV[1]
if #stored ~= #given then
  return 'forbidden'
end
local diff = 0
for i = 1, #stored do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i)))
end
if diff ~= 0 then
  return 'forbidden'
end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'e')) then
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
end
return 'ok'
