-- Remember a failing hotkey on a (validator, egress IP) in the validator's current life.
--
-- KEYS[1] state  {v:<validator>}  hash (see acquire.lua)
-- ARGV[1] the field "failing:<ip>": "<life>#<hotkey>=<ms>;..." (one entry per hotkey)
-- ARGV[2] the hotkey that failed
-- ARGV[3] failure_memory_ms (the validator remembers failing hotkeys for 24 h at most)
-- ARGV[4] the token the failed push carried when the validator called it invalid, else ""
-- ARGV[5] token_rotation_ms
-- ARGV[6] token_clock_skew_ms
--
-- A validator restart wipes every failure it remembered (only bans survive), so our memory
-- must end there too. The evidence: the newest token we hold, a push was accepted with it
-- ("accepted"), now rejected while still within its validity, and not already the evidence
-- of an earlier restart ("killed"). It starts a new life ("life" + 1): failures of earlier lives no
-- longer count. A rejected token is parked (no pushes with it) either way.
-- Returns {distinct hotkeys failed on this IP in the current life, 1 if a new life began}.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], ARGV[1], 'life', 'accepted', 'killed', 'token')
local life = tonumber(stored[2] or '0')

local restarted = 0
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'parked', ARGV[4])
  if stored[3] and ARGV[4] ~= stored[4] then
    local bar = string.find(stored[3], '|', 1, true)
    local seen, accepted = tonumber(string.sub(stored[3], 1, bar - 1)), string.sub(stored[3], bar + 1)
    -- Only the newest token we hold can prove a restart: an older one may simply have
    -- reached the end of its epochs. Sighted again since it was accepted, the latest
    -- sighting dates its epoch best.
    local current = nil
    if stored[5] then
      local cut = string.find(stored[5], '|', 1, true)
      if string.sub(stored[5], cut + 1) == accepted then
        current = tonumber(string.sub(stored[5], 1, cut - 1))
      end
    end
    if current == nil then accepted = nil else seen = math.max(seen, current) end
    local rotation, skew = tonumber(ARGV[5]), tonumber(ARGV[6])
    local expires = (math.floor((seen - skew) / rotation) + 2) * rotation - skew
    if accepted == ARGV[4] and now < expires then
      life = life + 1
      restarted = 1
      redis.call('HSET', KEYS[1], 'life', life, 'killed', ARGV[4])
    end
  end
end

local since = now - tonumber(ARGV[3])
local kept, count = {}, 0
local failing = stored[1]
if failing then
  local hash = string.find(failing, '#', 1, true)
  if tonumber(string.sub(failing, 1, hash - 1)) == life then
    for hotkey, at in string.gmatch(string.sub(failing, hash + 1), '([^=;]+)=(%d+)') do
      if tonumber(at) > since and hotkey ~= ARGV[2] then
        kept[#kept + 1] = hotkey .. '=' .. at
        count = count + 1
      end
    end
  end
end
kept[#kept + 1] = ARGV[2] .. '=' .. now
redis.call('HSET', KEYS[1], ARGV[1], life .. '#' .. table.concat(kept, ';'))
return {count + 1, restarted}
