-- Reserve one request against every budget of a (validator, egress IP, hotkey), or refuse.
--
-- KEYS[1] fleet TAT     {v:<validator>}:fleet
-- KEYS[2] egress IP TAT {v:<validator>}:ip:<egress ip>
-- KEYS[3] hotkey TAT    {v:<validator>}:hk:<hotkey>
-- KEYS[4] pause         {v:<validator>}:pause:<egress ip>   (value: reason; TTL: remaining)
-- ARGV[1..6] interval_ms, tolerance_ms for KEYS[1..3] in order
-- ARGV[7]    max_wait_ms
-- Returns {1, wait_ms, ""} (granted, slot reserved) or {0, retry_ms, reason}.
--
-- Time is the server's (TIME), so hosts with skewed clocks still share one schedule.
-- All keys carry the validator's hash tag: one slot in Redis Cluster.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local paused_ms = redis.call('PTTL', KEYS[4])
if paused_ms > 0 then
  return {0, paused_ms, 'paused: ' .. (redis.call('GET', KEYS[4]) or '')}
end

local tats = {}
local start = now
for i = 1, 3 do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local allowed = tat - tonumber(ARGV[2 * i])
  if allowed > start then start = allowed end
end

local wait = start - now
if wait > tonumber(ARGV[7]) then
  return {0, wait, 'budget'}
end

for i = 1, 3 do
  local interval = tonumber(ARGV[2 * i - 1])
  local tat = tats[i]
  if start > tat then tat = start end
  local new_tat = tat + interval
  -- Keep the key only as long as it can still hold anyone back.
  redis.call('SET', KEYS[i], new_tat, 'PX', new_tat - now + 1000)
end
return {1, wait, ''}
