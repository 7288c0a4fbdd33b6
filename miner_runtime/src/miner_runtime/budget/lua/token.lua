-- Record or read the validator's push token, shared by the whole fleet.
--
-- KEYS[1] state  {v:<validator>}  hash; "token" holds "<first seen ms>|<token>", "parked" a
--                token the validator rejected (pushes wait until a different one arrives)
-- ARGV[1] "record" or "get"
-- ARGV[2] record: the token; get: max age in ms
-- ARGV[3] record: how long ago (ms) the token was first seen (0: just now; more when a
--         runtime re-seeds one it kept across a restart)
-- Re-delivery of the token already held keeps its first-seen time: a token's age is what
-- bounds its validity (2 h). An older sighting never replaces a newer, different token.
-- Returns (get) the usable token, or false.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 'token', 'parked')
local seen, token = nil, nil
if stored[1] then
  local bar = string.find(stored[1], '|', 1, true)
  seen, token = tonumber(string.sub(stored[1], 1, bar - 1)), string.sub(stored[1], bar + 1)
end
if ARGV[1] == 'record' then
  local sighted = now - tonumber(ARGV[3])
  if token ~= ARGV[2] and (seen == nil or sighted >= seen) then
    redis.call('HSET', KEYS[1], 'token', sighted .. '|' .. ARGV[2])
  end
  return false
end
if token == nil or token == stored[2] or now - seen > tonumber(ARGV[2]) then return false end
return token
