-- Record, read or prove the validator's push token, shared by the whole fleet.
--
-- KEYS[1] state  {v:<validator>}  hash; "token" holds "<last seen ms>|<token>", "parked" a
--                token the validator rejected (pushes wait until a different one arrives),
--                "proven" the token a push was last accepted with, "accepted" the same as
--                "<last seen ms>|<token>" (kept when "proven" is cleared: it is what makes
--                a later token_invalid the evidence of a restart, record_failure.lua)
--                "suspect" when the token was last made unproven again (ms; steering's
--                window starts again from then, acquire.lua)
-- ARGV[1] "record", "get", "accepted" or "suspect"
-- ARGV[2] the token (record, accepted); get: token_rotation_ms
-- ARGV[3] record: how long ago (ms) the token was seen (0: just now; more when a runtime
--         re-seeds one it kept across a restart); get: token_clock_skew_ms
-- Every sighting of a token proves it was the validator's current token shortly before
-- (a CONNECTION_INFO round sends the token of the moment it began), so the latest sighting
-- bounds its epoch from below best: re-delivery moves "last seen" on, never back. An older
-- sighting never replaces a newer, different token.
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
  if seen == nil or sighted >= seen then
    redis.call('HSET', KEYS[1], 'token', sighted .. '|' .. ARGV[2])
  end
  return false
end
if ARGV[1] == 'suspect' then
  redis.call('HDEL', KEYS[1], 'proven')
  redis.call('HSET', KEYS[1], 'suspect', now)
  return false
end
if ARGV[1] == 'accepted' then
  if token == ARGV[2] then
    redis.call('HSET', KEYS[1], 'proven', token, 'accepted', stored[1])
  end
  return false
end
if token == nil or token == stored[2] then return false end
local rotation, skew = tonumber(ARGV[2]), tonumber(ARGV[3])
if now >= (math.floor((seen - skew) / rotation) + 2) * rotation - skew then return false end
return token
