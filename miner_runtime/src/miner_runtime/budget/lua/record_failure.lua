-- Remember a failing hotkey on a (validator, egress IP); count the distinct ones.
--
-- KEYS[1] state  {v:<validator>}  hash (see acquire.lua)
-- ARGV[1] the field "failing:<ip>": "<hotkey>=<ms>;..." (one entry per hotkey, last failure)
-- ARGV[2] the hotkey that failed
-- ARGV[3] failure_memory_ms (the validator remembers failing hotkeys for 24 h)
-- Returns the number of distinct hotkeys that failed within the memory.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = now - tonumber(ARGV[3])
local kept, count = {}, 0
for hotkey, at in string.gmatch(redis.call('HGET', KEYS[1], ARGV[1]) or '', '([^=;]+)=(%d+)') do
  if tonumber(at) > since and hotkey ~= ARGV[2] then
    kept[#kept + 1] = hotkey .. '=' .. at
    count = count + 1
  end
end
kept[#kept + 1] = ARGV[2] .. '=' .. now
redis.call('HSET', KEYS[1], ARGV[1], table.concat(kept, ';'))
return count + 1
