-- One update's whole plan (sentinel_core::plan), after the prelude and the step functions
-- (step_sliding_window, step_gcra, step_fixed_window, debounce_client: the single-purpose
-- scripts' bodies, wrapped as functions of (KEYS, ARGV, now)).
--
-- Order: blocklist -> debounce -> rate limits (all must pass; a refusal consumes none) ->
-- strike -> block.
--
-- KEYS: the block keys, then the debounce key (if any), the limit keys, then the strikes key
--       and the offender's block key (if the plan escalates).
-- ARGV: 1 now|''   2 extra TTL ms   3 number of block keys   4 debounce window µs ('' = none)
--       5 number of limits   6 '1' when the plan escalates
--       then per limit: algorithm ('sw', 'gcra', 'fw'), limit, period µs, cost, emission µs
--       then, when it escalates: strikes, within µs, the block record (JSON), its PX ('' = none)
-- Reply: {1, block index, record}                             blocked
--        {2}                                                  debounced
--        {3, limit index (-1 = none), allowed, remaining, retry_after, reset_after}
--        {4, limit index, allowed, remaining, retry_after, reset_after, escalated (0/1)}
-- (indices 0-based; the four decision fields as the rate-limit scripts reply them)
local grace = ARGV[2]
local nb = tonumber(ARGV[3])
local window = ARGV[4]
local nl = tonumber(ARGV[5])
local escalates = ARGV[6] == '1'
local k = 0

-- 1. Blocklist: a record is in force while now < expires_at (null: until unblocked). All
-- block keys in one MGET (one command, not one GET each; a key holding another type reads
-- as absent, as MGET reads it).
local raws = {}
if nb > 0 then
  raws = redis.call('MGET', unpack(KEYS, 1, nb))
end
for i = 1, nb do
  k = k + 1
  local raw = raws[i]
  if raw then
    local ends = string.match(raw, '"expires_at":(%d+)')
    if ends then
      local e = ts_in(ends)
      if e and now < e then
        return {1, i - 1, raw}
      end
    elseif string.find(raw, '"expires_at":null', 1, true) then
      return {1, i - 1, raw}
    else
      return redis.error_reply('ERR sentinel: malformed blocklist record')
    end
  end
end

-- 2. Debounce: a repeat inside the open window stops here.
if window ~= '' then
  k = k + 1
  local first
  if ARGV[1] == '' then
    -- Server clock: the window is the key's TTL.
    local px = math.floor((tonumber(window) + 999) / 1000)
    if px < 1 then
      px = 1
    end
    first = redis.call('SET', KEYS[k], '1', 'NX', 'PX', string.format('%d', px))
  else
    first = debounce_client({KEYS[k]}, {ARGV[1], window, grace}, now) == 1
  end
  if not first then
    return {2}
  end
end

-- 3. Rate limits.
local steps = {sw = step_sliding_window, gcra = step_gcra, fw = step_fixed_window}
local function run(i, peek)
  local a = 6 + (i - 1) * 5
  local step = steps[ARGV[a + 1]]
  if not step then
    return redis.error_reply('ERR sentinel: unknown algorithm')
  end
  return step({KEYS[k + i]}, {ARGV[1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], peek, grace,
    ARGV[a + 5]}, now)
end

-- Whether refusal a waits longer than b (-1 = never, the longest).
local function longer(a, b)
  if b[3] == -1 then
    return false
  end
  return a[3] == -1 or a[3] > b[3]
end

local refused, refused_at
if nl == 1 then
  local d = run(1, '0')
  if d.err then
    return d
  end
  if d[1] == 0 then
    refused, refused_at = d, 0
  else
    return {3, 0, d[1], d[2], d[3], d[4]}
  end
elseif nl > 1 then
  -- Try every limit first (a peek with the real cost changes nothing; a refusal is the same
  -- decision either way), then consume all of them only if all grant.
  for i = 1, nl do
    local d = run(i, '1')
    if d.err then
      return d
    end
    if d[1] == 0 and (not refused or longer(d, refused)) then
      refused, refused_at = d, i - 1
    end
  end
  if not refused then
    local best, best_at
    for i = 1, nl do
      local d = run(i, '0')
      if d.err then
        return d
      end
      if not best or d[2] < best[2] or (d[2] == best[2] and d[4] > best[4]) then
        best, best_at = d, i - 1
      end
    end
    return {3, best_at, best[1], best[2], best[3], best[4]}
  end
else
  return {3, -1, 1, 0, 0, 0}
end

-- 4. Strike, 5. block.
local escalated = 0
if escalates then
  local s = 6 + nl * 5
  local sk = KEYS[k + nl + 1]
  local d = step_sliding_window({sk}, {ARGV[1], ARGV[s + 1], ARGV[s + 2], '1', '0', grace}, now)
  if d.err then
    return d
  end
  if d[1] == 0 or d[2] == 0 then
    local bk = KEYS[k + nl + 2]
    if ARGV[s + 4] == '' then
      redis.call('SET', bk, ARGV[s + 3])
    else
      redis.call('SET', bk, ARGV[s + 3], 'PX', ARGV[s + 4])
    end
    redis.call('DEL', sk)
    escalated = 1
  end
end
return {4, refused_at, refused[1], refused[2], refused[3], refused[4], escalated}
