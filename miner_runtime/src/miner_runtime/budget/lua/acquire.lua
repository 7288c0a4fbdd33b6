-- Reserve one request against every budget of a (validator, egress IP, hotkey), or refuse;
-- or (mode "check") only re-check the gates just before a reserved request leaves.
--
-- KEYS[1] state  {v:<validator>}  hash; fields "fleet", "ip:<ip>", "hk:<hotkey>" hold TATs
--                (ms), "pause:<ip>" holds "<until ms>|<reason>", "failing:<ip>" holds
--                "<hotkey>=<ms>;..." (see record_failure.lua), "token" "<ms>|<token>",
--                "parked" a token the validator rejected, "proven" a token a push was
--                accepted with, "canary:<ip>" "<hotkey>|<last asked ms>"
-- ARGV[1..5] the fields: fleet, egress IP, hotkey, pause, failing
-- ARGV[6]    the hotkey asking
-- ARGV[7..12] interval_ms, tolerance_ms for the three budgets, in the same order
-- ARGV[13]   max_wait_ms: the horizon; a slot further out is refused, to be asked for again
--            once it is within reach (retry = wait - max_wait)
-- ARGV[14]   failing_hotkeys_limit
-- ARGV[15]   failure_memory_ms
-- ARGV[16]   "1" for a push (carries the token), "0" otherwise
-- ARGV[17]   the field "canary:<ip>"
-- ARGV[18]   canary_lease_ms
-- ARGV[19]   canary_retry_ms (also the retry for a push without a usable token)
-- ARGV[20]   token_max_age_ms
-- ARGV[21]   "reserve" (gates, then budgets) or "check" (gates only, nothing reserved;
--            for a push it also takes the egress IP's push lease, below)
-- ARGV[22]   the field "inflight:<ip>": "<hotkey>|<lease until ms>"
-- ARGV[23]   push_lease_ms
-- ARGV[24]   busy_retry_ms
-- While the token is unproven only the canary of the egress IP pushes, so every failure
-- a stale token causes lands on one hotkey. And one push at a time is in flight per
-- (validator, egress IP): after a restart nobody saw (a proven token gone stale), the
-- first push to reach the new process fails and parks the token before the next leaves.
-- Returns {1, wait_ms, token or "", proving} (granted; in "reserve" mode the slot is
-- reserved; proving is 1 when this push is the canary's, with an unproven token) or
-- {0, retry_ms, rule, detail}; rule is one of paused, failure_budget, no_token, canary,
-- busy, budget.
--
-- One hash per validator keeps a reserve to three commands (TIME, HMGET, HSET). A TAT or a
-- pause in the past holds no one back, so fields need no expiry; the hash holds a few
-- fields per hotkey and IP of the fleet. Time is the server's, so hosts with skewed clocks
-- share one schedule. One key: trivially one Redis Cluster slot.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                          'token', 'proven', ARGV[17], 'parked', ARGV[22])

local pause = stored[4]
if pause then
  local bar = string.find(pause, '|', 1, true)
  local untill = tonumber(string.sub(pause, 1, bar - 1))
  if untill > now then
    return {0, untill - now, 'paused', string.sub(pause, bar + 1)}
  end
end

-- Failure budget: once limit - 1 distinct hotkeys failed here, only they may still send.
local failing = stored[5]
if failing then
  local count, oldest, member = 0, nil, false
  local since = now - tonumber(ARGV[15])
  for hotkey, at in string.gmatch(failing, '([^=;]+)=(%d+)') do
    at = tonumber(at)
    if at > since then
      count = count + 1
      if hotkey == ARGV[6] then member = true end
      if oldest == nil or at < oldest then oldest = at end
    end
  end
  if not member and count >= tonumber(ARGV[14]) - 1 then
    return {0, oldest + tonumber(ARGV[15]) - now, 'failure_budget',
            count .. ' hotkeys failed'}
  end
end

local token, proving = '', 0
if ARGV[16] == '1' then
  local entry = stored[6]
  if entry then
    local bar = string.find(entry, '|', 1, true)
    token = string.sub(entry, bar + 1)
    if token == stored[9] or now - tonumber(string.sub(entry, 1, bar - 1)) > tonumber(ARGV[20]) then
      token = ''
    end
  end
  if token == '' then
    return {0, tonumber(ARGV[19]), 'no_token', ''}
  end
  if token ~= stored[7] then
    local canary = stored[8]
    local holder, last = nil, 0
    if canary then
      local bar = string.find(canary, '|', 1, true)
      holder, last = string.sub(canary, 1, bar - 1), tonumber(string.sub(canary, bar + 1))
    end
    if holder ~= nil and holder ~= ARGV[6] and now - last <= tonumber(ARGV[18]) then
      return {0, tonumber(ARGV[19]), 'canary', holder}
    end
    redis.call('HSET', KEYS[1], ARGV[17], ARGV[6] .. '|' .. now)
    proving = 1
  end
end

if ARGV[21] == 'check' then
  if ARGV[16] == '1' then
    local lease = stored[10]
    if lease then
      local bar = string.find(lease, '|', 1, true)
      local holder = string.sub(lease, 1, bar - 1)
      if holder ~= ARGV[6] and tonumber(string.sub(lease, bar + 1)) > now then
        return {0, tonumber(ARGV[24]), 'busy', holder}
      end
    end
    redis.call('HSET', KEYS[1], ARGV[22], ARGV[6] .. '|' .. (now + tonumber(ARGV[23])))
  end
  return {1, 0, token, proving}
end

local tats = {}
local start = now
for i = 1, 3 do
  local tat = tonumber(stored[i]) or now
  if tat < now then tat = now end
  tats[i] = tat
  local allowed = tat - tonumber(ARGV[6 + 2 * i])
  if allowed > start then start = allowed end
end

local wait = start - now
if wait > tonumber(ARGV[13]) then
  return {0, wait - tonumber(ARGV[13]), 'budget', ''}
end

redis.call('HSET', KEYS[1],
  ARGV[1], math.max(tats[1], start) + tonumber(ARGV[7]),
  ARGV[2], math.max(tats[2], start) + tonumber(ARGV[9]),
  ARGV[3], math.max(tats[3], start) + tonumber(ARGV[11]))
return {1, wait, token, proving}
