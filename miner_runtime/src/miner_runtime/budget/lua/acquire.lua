-- Reserve one request against every budget of a (validator, egress IP, hotkey), or refuse.
--
-- KEYS[1] TATs   {v:<validator>}:tat  hash; fields "fleet", "ip:<egress ip>", "hk:<hotkey>"
-- KEYS[2] pause  {v:<validator>}:pause:<egress ip>   (value: reason; TTL: remaining)
-- ARGV[1..3] the three hash fields (fleet, egress IP, hotkey)
-- ARGV[4..9] interval_ms, tolerance_ms for each, in the same order
-- ARGV[10]   max_wait_ms
-- Returns {1, wait_ms} (granted, slot reserved) or {0, retry_ms, reason}.
--
-- One hash per validator keeps an acquire to four commands. A TAT in the past holds no
-- one back and is simply overwritten, so fields need no expiry; the hash holds one field
-- per hotkey and IP of the fleet. Time is the server's (TIME), so hosts with skewed
-- clocks share one schedule. Both keys carry the validator's hash tag: one Cluster slot.

local paused_ms = redis.call('PTTL', KEYS[2])
if paused_ms > 0 then
  return {0, paused_ms, 'paused: ' .. (redis.call('GET', KEYS[2]) or '')}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2], ARGV[3])

local tats = {}
local start = now
for i = 1, 3 do
  local tat = tonumber(stored[i]) or now
  if tat < now then tat = now end
  tats[i] = tat
  local allowed = tat - tonumber(ARGV[3 + 2 * i])
  if allowed > start then start = allowed end
end

local wait = start - now
if wait > tonumber(ARGV[10]) then
  return {0, wait, 'budget'}
end

local updates = {}
for i = 1, 3 do
  local tat = tats[i]
  if start > tat then tat = start end
  updates[2 * i - 1] = ARGV[i]
  updates[2 * i] = tat + tonumber(ARGV[2 + 2 * i])
end
redis.call('HSET', KEYS[1], unpack(updates))
return {1, wait}
