-- Record or read the validator's push token, shared by the whole fleet.
--
-- KEYS[1] state  {v:<validator>}  hash; "token" holds "<ms>|<token>", "parked" a token
--                the validator rejected (pushes wait until a different one arrives)
-- ARGV[1] "record" or "get"
-- ARGV[2] record: the token; get: max age in ms
-- Returns (get) the usable token, or false.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'record' then
  redis.call('HSET', KEYS[1], 'token', now .. '|' .. ARGV[2])
  return false
end
local stored = redis.call('HMGET', KEYS[1], 'token', 'parked')
if not stored[1] then return false end
local bar = string.find(stored[1], '|', 1, true)
local seen = tonumber(string.sub(stored[1], 1, bar - 1))
local token = string.sub(stored[1], bar + 1)
if token == stored[2] or now - seen > tonumber(ARGV[2]) then return false end
return token
