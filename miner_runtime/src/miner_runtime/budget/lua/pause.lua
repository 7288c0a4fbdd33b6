-- Pause a (validator, egress IP): nobody on that IP sends to that validator until it ends.
--
-- KEYS[1] state  {v:<validator>}  hash (see acquire.lua); field ARGV[1] = "pause:<ip>"
-- ARGV[1] the pause field
-- ARGV[2] duration_ms
-- ARGV[3] reason
-- Never shortens a longer pause already in force. Returns the pause's remaining ms.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wanted = now + tonumber(ARGV[2])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local untill = tonumber(string.sub(current, 1, string.find(current, '|', 1, true) - 1))
  if untill >= wanted then
    return untill - now
  end
end
redis.call('HSET', KEYS[1], ARGV[1], wanted .. '|' .. ARGV[3])
return wanted - now
