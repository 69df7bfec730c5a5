-- Holds one slot for a peer. Held slots are a zset of random slot ids, all scored 0, so Redis
-- lists them by id (a random order), never by arrival; each slot's bytes are a string of its own.
-- KEYS[1]  the peer's held slot ids zset ({P:f:<peer tag>}:h)
-- KEYS[2]  this slot's string ({P:f:<peer tag>}:e:<slot id>)
-- ARGV[1]  slot id (32 hex digits, random)
-- ARGV[2]  slot (bytes)
-- Returns  1
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], 0, ARGV[1])
return 1
