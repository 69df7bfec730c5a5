-- Removes what has expired by `today` from one inbox: items and message ids whose day is before
-- today, and the inbox itself once its own day is before today and it holds no items. Items are
-- appended with non-decreasing days, so the expired ones are at the front of the zset.
-- KEYS[1]  inbox meta hash
-- KEYS[2]  items zset
-- KEYS[3]  message ids zset
-- ARGV[1]  today (days since the Unix epoch)
-- Returns  the earliest day on which something left in the inbox expires, or -1 if it is gone
local today = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local removed, bytes = 0, 0
while true do
  local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if not first or tonumber(string.sub(first, 17, 24)) >= today then
    break
  end
  redis.call('ZREM', KEYS[2], first)
  removed = removed + 1
  bytes = bytes + #first - 24
end
if removed > 0 then
  redis.call('HINCRBY', KEYS[1], 'c', -removed)
  redis.call('HINCRBY', KEYS[1], 'b', -bytes)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. today)
local day = tonumber(redis.call('HGET', KEYS[1], 'e'))
local first = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
if day < today and not first then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return -1
end
-- Everything left expires on a day >= today; the inbox's own day counts only if not yet past.
local nextDay = nil
if day >= today then
  nextDay = day
end
if first then
  local itemDay = tonumber(string.sub(first, 17, 24))
  nextDay = nextDay and math.min(nextDay, itemDay) or itemDay
end
local firstId = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if firstId[2] then
  local idDay = tonumber(firstId[2])
  nextDay = nextDay and math.min(nextDay, idDay) or idDay
end
return nextDay or today
