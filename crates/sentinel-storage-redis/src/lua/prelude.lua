-- sentinel prelude, shared by every script (prepended at build time).
--
-- Numbers. Lua 5.1 numbers are doubles, exact for integers up to 2^53. Timestamps (µs since
-- the epoch) are stored as decimal strings and may be larger than that (a client clock far in
-- the future), so scripts never compute with them directly: `ts_in` reads one as an offset
-- from this call's base (`now` without its last nine digits, times 10^9) and `ts_out` writes
-- an offset back as an absolute decimal string. Every offset a script computes is small (at
-- most a period and a limit away from now), so all arithmetic is exact. Plain numbers are
-- written with '%.0f', never Lua's default '%.14g', which would round.

local E9 = 1000000000
-- `now` = base_hi * 10^9 + (offset returned by sentinel_now); `now_str` is `now` in decimal.
local base_hi = 0
local now_str = '0'

local function fmt(x)
  return string.format('%.0f', x)
end

-- floor(a / b) for integers a, b > 0, exact (corrects the float quotient).
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- A decimal string of digits as (everything but the last nine digits, the last nine digits).
local function split(s)
  local n = #s
  if n <= 9 then
    return 0, tonumber(s)
  end
  return tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
end

-- An absolute timestamp (a string of digits) as an offset from this call's base.
local function ts_in(s)
  local hi, lo = split(s)
  return (hi - base_hi) * E9 + lo
end

-- An offset from this call's base as an absolute timestamp string.
local function ts_out(rel)
  local carry = idiv(rel, E9)
  local lo = rel - carry * E9
  local hi = base_hi + carry
  if hi <= 0 then
    return fmt(lo)
  end
  return string.format('%.0f%09.0f', hi, lo)
end

-- `now` as an offset from this call's base: ARGV value from the client (a string of digits),
-- or Redis's own clock when empty.
local function sentinel_now(arg)
  if arg ~= '' then
    now_str = arg
  else
    -- Redis 3.2-6.x need effects replication before a write that follows TIME; Redis 7
    -- always replicates effects, and a server without the call fails harmlessly here.
    pcall(redis.replicate_commands)
    local t = redis.call('TIME')
    now_str = fmt(tonumber(t[1]) * 1000000 + tonumber(t[2]))
  end
  local hi, lo = split(now_str)
  base_hi = hi
  return lo
end

-- `now` modulo `m` (m < 2^45), exactly, by long division of its decimal string.
local function now_mod(m)
  local r = 0
  for i = 1, #now_str do
    r = (r * 10 + tonumber(string.sub(now_str, i, i))) % m
  end
  return r
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

local function is_digits(s)
  return type(s) == 'string' and string.find(s, '^%d+$') ~= nil
end

local function sentinel_malformed(what)
  return redis.error_reply('ERR sentinel: malformed ' .. what .. ' state')
end
