-- Forgets a claim whose batch is queued for delivery: deletes its slots, its slot ids and its
-- unsent record, and remembers its id among the peer's recently sent claims (a list capped at
-- ARGV[3] ids, oldest dropped first) so a rebuilt batch is not queued again.
-- Slot string keys are built from a prefix and the ids; they share the peer's hash tag with KEYS,
-- so they are in the same cluster slot.
-- KEYS[1]  the peer's unsent claim ids set ({P:f:<peer tag>}:u)
-- KEYS[2]  the claim's slot ids zset ({P:f:<peer tag>}:c:<claim id>)
-- KEYS[3]  the peer's recently sent claim ids list ({P:f:<peer tag>}:r)
-- ARGV[1]  claim id
-- ARGV[2]  prefix of slot strings ({P:f:<peer tag>}:e:); the rest is the slot id
-- ARGV[3]  how many sent claim ids to remember
-- Returns  1
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[2] .. id)
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
if not redis.call('LPOS', KEYS[3], ARGV[1]) then
  redis.call('LPUSH', KEYS[3], ARGV[1])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
end
return 1
