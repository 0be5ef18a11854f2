-- One update's whole plan (sentinel_core::plan), after the prelude, the step functions
-- (step_sliding_window, step_gcra, step_fixed_window, debounce_client: the single-purpose
-- scripts' bodies, wrapped as functions of (KEYS, ARGV, now)), plan_defs.lua and clock.lua.
--
-- Order: blocklist -> debounce -> rate limits (all must pass; a refusal consumes none) ->
-- strike -> block.
--
-- KEYS: the block keys, then the debounce key (if any), the limit keys, then the strikes key
--       and the offender's block key (if the plan escalates).
-- ARGV: 1 now|''   2 extra TTL ms
--       3 counts: the number of block keys + 256 * the number of limits (+ 65536 when the plan
--         escalates)   4 debounce window ('' = none): µs with the client's clock (ARGV[1] set),
--         the debounce key's PX (ms, at least 1) with Redis's
--       then per limit: algorithm ('sw', 'gcra', 'fw'), limit, cost, and the period µs (sw,
--         fw) or the emission interval µs (gcra)
--       then, when it escalates: strikes, within µs, the block record (JSON), its PX ('' = none)
-- (Few entries, as each one costs the server: the counts packed into one number, and each
-- limit's period or emission interval, whichever its algorithm reads.)
-- Reply: {1, block index, record}                             blocked
--        {2}                                                  debounced
--        {3, limit index (-1 = none), remaining, reset_after}        allowed
--        {4, limit index, allowed, remaining, retry_after, reset_after, escalated (0/1)}
-- (indices 0-based; the decision fields as the rate-limit scripts reply them; an allowed
-- decision's allowed (1) and retry_after (0) go without saying: every element of the reply
-- costs the server and the client)
local grace = ARGV[2]
local counts = tonumber(ARGV[3])
local nb = counts % 256
local nl = math.floor(counts / 256) % 256
local escalates = counts >= 65536
local window = ARGV[4]

-- 1. Blocklist: a record is in force while now < expires_at (null: until unblocked). All
-- block keys in one MGET (one command, not one GET each; a key holding another type reads
-- as absent, as MGET reads it).
if nb > 0 then
  local raws = redis.call('MGET', unpack(KEYS, 1, nb))
  for i = 1, nb do
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
end
local k = nb

-- 2. Debounce: a repeat inside the open window stops here.
if window ~= '' then
  k = k + 1
  local first
  if ARGV[1] == '' then
    -- Server clock: the window is the key's TTL (ARGV[4] is already the PX).
    first = redis.call('SET', KEYS[k], '1', 'NX', 'PX', window)
  else
    first = debounce_client({KEYS[k]}, {ARGV[1], window, grace}, now) == 1
  end
  if not first then
    return {2}
  end
end

-- 3. Rate limits (run_limit and longer: plan_defs.lua).
local refused, refused_at
if nl == 1 then
  local d = run_limit(KEYS, ARGV, k, 1, '0', now)
  if d.err then
    return d
  end
  if d[1] == 0 then
    refused, refused_at = d, 0
  else
    return {3, 0, d[2], d[4]}
  end
elseif nl > 1 then
  -- Try every limit first (a peek with the real cost changes nothing; a refusal is the same
  -- decision either way), then consume all of them only if all grant.
  for i = 1, nl do
    local d = run_limit(KEYS, ARGV, k, i, '1', now)
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
      local d = run_limit(KEYS, ARGV, k, i, '0', now)
      if d.err then
        return d
      end
      if not best or d[2] < best[2] or (d[2] == best[2] and d[4] > best[4]) then
        best, best_at = d, i - 1
      end
    end
    return {3, best_at, best[2], best[4]}
  end
else
  return {3, -1, 0, 0}
end

-- 4. Strike, 5. block.
local escalated = 0
if escalates then
  local s = 4 + nl * 4
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
