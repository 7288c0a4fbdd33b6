-- Give back the egress IP's push lease (see acquire.lua), if this hotkey still holds it.
--
-- KEYS[1] state  {v:<validator>}  hash
-- KEYS[2] {v:<validator>}:wake:<ip>  list: one element wakes the next waiter (BLPOP)
-- ARGV[1] the field "inflight:<ip>"
-- ARGV[2] the hotkey
-- Returns 1 when released, 0 when the lease was not (or no longer) this hotkey's.

local lease = redis.call('HGET', KEYS[1], ARGV[1])
if lease and string.sub(lease, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('RPUSH', KEYS[2], '1')
  redis.call('LTRIM', KEYS[2], 0, 0)  -- at most one wake-up waiting: never a backlog
  redis.call('PEXPIRE', KEYS[2], 60000)
  return 1
end
return 0
