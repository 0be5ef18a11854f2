-- sentinel prelude, shared by every script (prepended at build time). Every script takes
-- `now` as ARGV[1]: µs since the epoch from the client, or empty for Redis's own clock.
--
-- Numbers. Lua 5.1 numbers are doubles, exact for integers up to 2^53. Timestamps are stored
-- as decimal strings and may be larger than that (a client clock far in the future), so the
-- scripts never compute with them directly: `ts_in` reads one as an offset from this call's
-- base (`now` without its last nine digits, times 10^9) and `ts_out` writes an offset back as
-- an absolute decimal string. Every offset a script computes stays small (a period and a limit
-- away from now at most), so all arithmetic is exact. Numbers are written with '%d' (exact
-- below 2^63, and an integer printf, much cheaper for Redis than the float printf behind
-- Lua's default '%.14g' and behind numbers passed to redis.call), never left to conversion.
--
-- This chunk only defines; `clock.lua`, run at the start of every call, sets the clock state
-- below from ARGV[1]. A script (EVALSHA) runs both on every call; the function library
-- (FCALL, Redis 7+) runs this chunk once when it is loaded and `clock.lua` in every call, so
-- create as few closures here as possible all the same.

local E9 = 1000000000
local P53 = 9007199254740992

-- A decimal string of digits as (all but its last nine digits, its last nine digits).
local function split(s)
  local n = #s
  if n <= 9 then
    return 0, tonumber(s)
  end
  return tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
end

-- This call's clock (set by clock.lua): now = base_hi * 10^9 + now (the offset); now_abs is
-- now itself with Redis's clock (always exact), nil with the client's; base_abs = base_hi * 10^9, and exact says
-- whether it (and so every timestamp below 2^53) is exact as a double: the fast paths below,
-- taken for any clock before the year 2255.
local base_hi, now, now_abs, base_abs, exact

-- An absolute timestamp string as an offset from this call's base (nil when not digits).
local function ts_in(s)
  local v = tonumber(s)
  if exact and v and v < P53 then
    return v - base_abs
  end
  local hi, lo = split(s)
  if not hi or not lo then
    return nil
  end
  return (hi - base_hi) * E9 + lo
end

-- An offset from this call's base as an absolute timestamp string.
local function ts_out(rel)
  local v = base_abs + rel
  if exact and v >= 0 and v < P53 then
    return string.format('%d', v)
  end
  local carry = math.floor(rel / E9)
  if carry * E9 > rel then
    carry = carry - 1
  elseif (carry + 1) * E9 <= rel then
    carry = carry + 1
  end
  local hi = base_hi + carry
  if hi > 0 then
    return string.format('%d%09d', hi, rel - carry * E9)
  end
  return string.format('%d', rel - carry * E9)
end

-- PX (as a string) for state that matters for `us` more µs (us < 2^46): rounded up to whole
-- milliseconds, plus 1 ms because Redis's expiry clock truncates to the millisecond, plus the
-- configured grace (client-clock mode). Always at least 1 ms.
local function ttl_ms(us, extra)
  if us < 0 then
    us = 0
  end
  return string.format('%d', math.floor((us + 999) / 1000) + 1 + extra)
end
