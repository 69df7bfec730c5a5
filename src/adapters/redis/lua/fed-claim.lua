-- Moves up to ARGV[2] held slots of a peer into a new claim and records the claim as unsent, in
-- one step, so a slot is in at most one claim. The slots taken are the first by (random) id. An
-- empty claim is not stored.
-- Slot string keys are built from a prefix and the ids; they share the peer's hash tag with KEYS,
-- so they are in the same cluster slot.
-- KEYS[1]  the peer's held slot ids zset ({P:f:<peer tag>}:h)
-- KEYS[2]  the claim's slot ids zset ({P:f:<peer tag>}:c:<claim id>), all scored 0
-- KEYS[3]  the peer's unsent claim ids set ({P:f:<peer tag>}:u)
-- ARGV[1]  claim id (32 hex digits, random)
-- ARGV[2]  most slots to take
-- ARGV[3]  prefix of slot strings ({P:f:<peer tag>}:e:); the rest is the slot id
-- Returns  the claimed slots' bytes
local max = tonumber(ARGV[2])
if max < 1 then
  return {}
end
local ids = redis.call('ZRANGE', KEYS[1], 0, max - 1)
local slots = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], 0, id)
  local slot = redis.call('GET', ARGV[3] .. id)
  if slot then
    slots[#slots + 1] = slot
  end
end
if #ids > 0 then
  redis.call('SADD', KEYS[3], ARGV[1])
end
return slots
