-- Reads one page of a closed round in one round shard: its first entries by sort key (random,
-- drawn at add), at most ARGV[2] of them and, past the first, at most ARGV[3] bytes of items.
-- Reads only. The entry keys are built from ARGV[1] and the members; they share the shard's hash
-- tag with KEYS[1], so they are in the same cluster slot.
-- KEYS[1]  the closed round's zset
-- ARGV[1]  entry key prefix (<shard tag>:e:)
-- ARGV[2]  max entries;  ARGV[3]  max bytes
-- Returns  member, item, member, item, ... (empty once the round is wholly released)
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local max = tonumber(ARGV[3])
local page = {}
local bytes = 0
-- MGET in chunks: one call per few hundred keys, and unpack() stays far below Lua's stack limit.
local CHUNK = 500
for start = 1, #members, CHUNK do
  local keys = {}
  for i = start, math.min(#members, start + CHUNK - 1) do
    keys[#keys + 1] = ARGV[1] .. members[i]
  end
  local items = redis.call('MGET', unpack(keys))
  for k = 1, #keys do
    local item = items[k]
    if item then
      bytes = bytes + #item
      if #page > 0 and bytes > max then
        return page
      end
      page[#page + 1] = members[start + k - 1]
      page[#page + 1] = item
    end
  end
end
return page
