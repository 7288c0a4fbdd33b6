-- Reserve one request against every budget of a (validator, egress IP, hotkey), or refuse;
-- or (mode "check") re-check the gates just before a planned request leaves.
--
-- KEYS[1] state  {v:<validator>}  hash; fields "fleet", "ip:<ip>", "hk:<hotkey>" hold TATs
--                (ms); "pause:<ip>" "<until ms>|<reason>"; "life" the validator's life as
--                the fleet counts them (see record_failure.lua); "failing:<ip>"
--                "<life>#<hotkey>=<ms>;..."; "token" "<last seen ms>|<token>"; "parked" a
--                token the validator rejected; "proven" the token a push was last accepted
--                with (cleared when it may be stale, "suspect" then dates that);
--                "steer:<ip>" "<token>|<since ms>";
--                "inflight:<ip>" "<hotkey>|<lease until ms>"
-- ARGV[1..5] the fields: fleet, egress IP, hotkey, pause, failing
-- ARGV[6]    the hotkey asking
-- ARGV[7..12] interval_ms, tolerance_ms for the three budgets, in the same order
-- ARGV[13]   max_wait_ms: the horizon; a slot further out is refused, to be asked for again
--            once it is within reach (retry = wait - max_wait)
-- ARGV[14]   failing_hotkeys_limit
-- ARGV[15]   failure_memory_ms
-- ARGV[16]   "1" for a push (carries the token), "0" otherwise
-- ARGV[17]   "reserve" (gates, then budgets) or "check" (gates only, nothing reserved; a
--            push also passes steering and takes the egress IP's push lease)
-- ARGV[18]   token_rotation_ms
-- ARGV[19]   token_clock_skew_ms
-- ARGV[20]   no_token_retry_ms
-- ARGV[21]   the field "steer:<ip>"
-- ARGV[22]   steer_ms
-- ARGV[23]   steer_retry_ms
-- ARGV[24]   the field "inflight:<ip>"
-- ARGV[25]   push_lease_ms
-- ARGV[26]   busy_retry_ms
--
-- The failure budget counts the distinct hotkeys that failed on this IP in the validator's
-- current life; at `limit` only they may send. A push with an unproven token may fail, so
-- it is steered to those hotkeys (for up to steer_ms); sends that cannot fail never are.
-- One push at a time is in flight per (validator, egress IP): after a restart nobody saw
-- (a proven token gone stale), the first push to reach the new process fails and parks the
-- token before the next leaves.
-- Returns {1, wait_ms, token or "", proving} (granted; "reserve" reserved the slot; proving
-- is 1 while no push with the token was accepted) or {0, retry_ms, rule, detail}; rule is
-- one of paused, failure_budget, no_token, steered, busy, budget.
--
-- One hash per validator keeps a reserve to three commands (TIME, HMGET, HSET). A TAT or a
-- pause in the past holds no one back, so fields need no expiry. Time is the server's, so
-- hosts with skewed clocks share one schedule. One key: trivially one Cluster slot.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                          'token', 'proven', 'parked', 'life', ARGV[21], ARGV[24],
                          'suspect')

local function split(value)
  local bar = string.find(value, '|', 1, true)
  return string.sub(value, 1, bar - 1), string.sub(value, bar + 1)
end

local pause = stored[4]
if pause then
  local untill, reason = split(pause)
  untill = tonumber(untill)
  if untill > now then
    return {0, untill - now, 'paused', reason}
  end
end

-- The failing hotkeys of the validator's current life on this IP, within the memory.
local count, oldest, member = 0, nil, false
local failing = stored[5]
local life = stored[9] or '0'
if failing then
  local hash = string.find(failing, '#', 1, true)
  if string.sub(failing, 1, hash - 1) == life then
    local since = now - tonumber(ARGV[15])
    for hotkey, at in string.gmatch(string.sub(failing, hash + 1), '([^=;]+)=(%d+)') do
      at = tonumber(at)
      if at > since then
        count = count + 1
        if hotkey == ARGV[6] then member = true end
        if oldest == nil or at < oldest then oldest = at end
      end
    end
  end
end
if not member and count >= tonumber(ARGV[14]) then
  return {0, oldest + tonumber(ARGV[15]) - now, 'failure_budget', count .. ' hotkeys failed'}
end

local token, proving = '', 0
if ARGV[16] == '1' then
  local entry = stored[6]
  if entry then
    local seen
    seen, token = split(entry)
    local rotation, skew = tonumber(ARGV[18]), tonumber(ARGV[19])
    local expires = (math.floor((tonumber(seen) - skew) / rotation) + 2) * rotation - skew
    if token == stored[8] or now >= expires then token = '' end
  end
  if token == '' then
    return {0, tonumber(ARGV[20]), 'no_token', ''}
  end
  if token ~= stored[7] then proving = 1 end
end

if ARGV[17] == 'check' then
  if ARGV[16] == '1' then
    if proving == 1 and count > 0 and not member then
      local since = now
      if stored[10] then
        local steered, at = split(stored[10])
        -- The window runs from the first refusal since the token became unproven.
        if steered == token and tonumber(at) >= tonumber(stored[12] or '0') then
          since = tonumber(at)
        end
      end
      if since == now then redis.call('HSET', KEYS[1], ARGV[21], token .. '|' .. now) end
      if now - since < tonumber(ARGV[22]) then
        return {0, tonumber(ARGV[23]), 'steered', count .. ' hotkeys failed'}
      end
    end
    local lease = stored[11]
    if lease then
      local holder, untill = split(lease)
      if holder ~= ARGV[6] and tonumber(untill) > now then
        return {0, tonumber(ARGV[26]), 'busy', holder}
      end
    end
    redis.call('HSET', KEYS[1], ARGV[24], ARGV[6] .. '|' .. (now + tonumber(ARGV[25])))
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
