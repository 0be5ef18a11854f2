-- sentinel prelude, shared by every script (prepended at build time).
--
-- Numbers: Lua 5.1 numbers are doubles, exact for integers below 2^53. Every value these
-- scripts compute (microsecond timestamps, sums of costs, TATs) stays below 2^53: the Rust
-- side refuses client timestamps above 2^53 - 2^46, and no quota adds more than 2^46 us.
-- Numbers are written back with '%.0f' (never Lua's '%.14g', which would round).

-- "now" in microseconds: ARGV value from the client, or Redis's own clock when empty.
local function sentinel_now(arg)
  if arg ~= '' then
    return tonumber(arg)
  end
  -- Redis 3.2-6.x need effects replication before a write that follows TIME; Redis 7
  -- always replicates effects, and a server without the call fails harmlessly here.
  pcall(redis.replicate_commands)
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function fmt(x)
  return string.format('%.0f', x)
end

-- floor(a / b) for non-negative integers a, b > 0, exact (corrects the float quotient).
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- A PX value for state that matters for `us` more microseconds: rounded up to whole
-- milliseconds, plus 1 ms because Redis's expiry clock truncates to the millisecond, plus the
-- configured grace (client-clock mode). Never less than 1 ms.
local function ttl_ms(us, extra)
  if us < 0 then
    us = 0
  end
  return idiv(us + 999, 1000) + 1 + extra
end

local function sentinel_malformed(what)
  return redis.error_reply('ERR sentinel: malformed ' .. what .. ' state')
end
