-- Claims an inbox's one-shot commit slot (field s of its meta hash): a compare-and-set where the
-- first message id wins, the same id again is a retry and any other loses.
-- KEYS[1]  inbox meta hash ({P:i:<id>}:m)
-- ARGV[1]  message id (16 bytes)
-- Returns  "won", "held", "taken" or "missing" (no such inbox)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
local holder = redis.call('HGET', KEYS[1], 's')
if not holder then
  redis.call('HSET', KEYS[1], 's', ARGV[1])
  return 'won'
end
if holder == ARGV[1] then
  return 'held'
end
return 'taken'
