-- The plan's helpers (after the prelude and the step functions, before plan.lua): defined
-- once per library load on Redis 7+, once per call in the EVALSHA script.

-- The rate-limit steps by the algorithm tag plan.lua receives.
local steps = {sw = step_sliding_window, gcra = step_gcra, fw = step_fixed_window}

-- Limit i (1-based) of the plan whose limit keys follow KEYS[k]: its decision, peeking or
-- not ('1'/'0'); ARGV as plan.lua describes it.
local function run_limit(KEYS, ARGV, k, i, peek, now)
  local a = 4 + (i - 1) * 4
  local step = steps[ARGV[a + 1]]
  if not step then
    return redis.error_reply('ERR sentinel: unknown algorithm')
  end
  -- The step scripts' ARGV: now, limit, period, cost, peek, extra TTL, emission interval. The
  -- plan sends one of period and emission interval, the one the algorithm reads; it goes
  -- in both places.
  return step({KEYS[k + i]}, {ARGV[1], ARGV[a + 2], ARGV[a + 4], ARGV[a + 3], peek, ARGV[2],
    ARGV[a + 4]}, now)
end

-- Whether refusal a waits longer than b (-1 = never, the longest).
local function longer(a, b)
  if b[3] == -1 then
    return false
  end
  return a[3] == -1 or a[3] > b[3]
end
