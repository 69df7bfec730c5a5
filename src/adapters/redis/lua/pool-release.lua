-- Forgets a closed round once its entries are appended: deletes its entries' item strings and
-- takes them off the pending usage. The entry keys are built from ARGV[2] and the members; they
-- share the {P:r} hash tag with KEYS, so they are in the same cluster slot.
-- KEYS[1]  set of closed, unreleased round ids
-- KEYS[2]  the closed round's zset
-- KEYS[3]  pending item counts zset
-- KEYS[4]  pending byte counts zset
-- ARGV[1]  round id
-- ARGV[2]  entry key prefix ({P:r}:e:)
-- Returns  the number of entries released
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, member in ipairs(members) do
  local entry = ARGV[2] .. member
  local size = redis.call('STRLEN', entry)
  local inbox = string.sub(member, 1, string.find(member, '/', 1, true) - 1)
  if tonumber(redis.call('ZINCRBY', KEYS[3], -1, inbox)) <= 0 then
    redis.call('ZREM', KEYS[3], inbox)
  end
  if tonumber(redis.call('ZINCRBY', KEYS[4], -size, inbox)) <= 0 then
    redis.call('ZREM', KEYS[4], inbox)
  end
  redis.call('DEL', entry)
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
return #members
