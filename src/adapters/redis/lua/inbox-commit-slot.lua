-- Claims or releases an inbox's one-shot commit slot (field s of its meta hash). A claim is a
-- compare-and-set: the first message id wins, the same id again is a retry, any other loses.
-- KEYS[1]  inbox meta hash ({P:i:<id>}:m)
-- ARGV[1]  "claim" or "release"
-- ARGV[2]  message id (16 bytes)
-- Returns  claim: "won", "held", "taken" or "missing" (no such inbox); release: "ok"
local holder = redis.call('HGET', KEYS[1], 's')
if ARGV[1] == 'release' then
  if holder == ARGV[2] then
    redis.call('HDEL', KEYS[1], 's')
  end
  return 'ok'
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 'missing'
end
if not holder then
  redis.call('HSET', KEYS[1], 's', ARGV[2])
  return 'won'
end
if holder == ARGV[2] then
  return 'held'
end
return 'taken'
