-- Pause a (validator, egress IP): nobody on that IP sends to that validator until it ends.
--
-- KEYS[1] pause  {v:<validator>}:pause:<egress ip>
-- ARGV[1] duration_ms
-- ARGV[2] reason
-- Never shortens a longer pause already in force. Returns the pause's remaining ms.

local remaining = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if remaining >= wanted then
  return remaining
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', wanted)
return wanted
