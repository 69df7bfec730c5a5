-- Releases one round shard's part of a page of a closed round once it is appended: deletes those
-- entries' item strings and takes them off the pending usage (one update per inbox in the page).
-- A member no longer in the round (another closer released it) is skipped, so releasing a page
-- twice releases it once. The work is one page, never the whole round. The entry keys are built
-- from ARGV[2] and the members; they share the shard's hash tag with KEYS: one cluster slot.
-- KEYS[1]  the shard's set of closed, unreleased round ids
-- KEYS[2]  the closed round's zset
-- KEYS[3]  pending item counts zset
-- KEYS[4]  pending byte counts zset
-- ARGV[1]  round id
-- ARGV[2]  entry key prefix (<shard tag>:e:)
-- ARGV[3..] the page's members ("<inbox hex>/<message id hex>"), at most a page
-- Returns  1 once the round holds no entries in this shard (the shard then forgets it), else 0
local inboxes = {}
local items = {}
local bytes = {}
for i = 3, #ARGV do
  local member = ARGV[i]
  if redis.call('ZREM', KEYS[2], member) == 1 then
    local entry = ARGV[2] .. member
    local inbox = string.sub(member, 1, string.find(member, '/', 1, true) - 1)
    if items[inbox] == nil then
      inboxes[#inboxes + 1] = inbox
      items[inbox] = 0
      bytes[inbox] = 0
    end
    items[inbox] = items[inbox] + 1
    bytes[inbox] = bytes[inbox] + redis.call('STRLEN', entry)
    redis.call('DEL', entry)
  end
end
for _, inbox in ipairs(inboxes) do
  if tonumber(redis.call('ZINCRBY', KEYS[3], -items[inbox], inbox)) <= 0 then
    redis.call('ZREM', KEYS[3], inbox)
  end
  if tonumber(redis.call('ZINCRBY', KEYS[4], -bytes[inbox], inbox)) <= 0 then
    redis.call('ZREM', KEYS[4], inbox)
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SREM', KEYS[1], ARGV[1])
return 1
