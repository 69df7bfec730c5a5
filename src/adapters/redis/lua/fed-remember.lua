-- Remembers a claim id among a peer's recently sent claims (a list capped at ARGV[2] ids,
-- oldest dropped first), e.g. once its batch was delivered, so a batch rebuilt from a claim
-- that outlived a crash is not queued (and delivered) again.
-- KEYS[1]  the peer's recently sent claim ids list ({P:f:<peer tag>}:r)
-- ARGV[1]  claim id
-- ARGV[2]  how many sent claim ids to remember
-- Returns  1 if the id was new, 0 if it was already remembered
if redis.call('LPOS', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1
