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
-- Speed. Each call runs this chunk again, so it creates as few closures as it can.

local E9 = 1000000000

-- A decimal string of digits as (all but its last nine digits, its last nine digits).
local function split(s)
  local n = #s
  if n <= 9 then
    return 0, tonumber(s)
  end
  return tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))
end

-- now = base_hi * 10^9 + now (the offset); now_abs is set when it is exact (< 2^53).
local base_hi, now, now_abs
if ARGV[1] == '' then
  -- Redis 3.2-4.x need effects replication before a write that follows TIME. Redis 5+
  -- replicate effects by default, and Redis 7+ (which has REDIS_VERSION_NUM) deprecates the
  -- call; a server without it fails harmlessly inside pcall.
  if not redis.REDIS_VERSION_NUM then
    pcall(redis.replicate_commands)
  end
  local t = redis.call('TIME')
  now_abs = tonumber(t[1]) * 1000000 + tonumber(t[2])
  base_hi = math.floor(now_abs / E9)
  if base_hi * E9 > now_abs then
    base_hi = base_hi - 1
  end
  now = now_abs - base_hi * E9
else
  base_hi, now = split(ARGV[1])
end

-- The base itself, and whether it (and so every timestamp below 2^53) is exact as a double:
-- the fast paths below, taken for any clock before the year 2255.
local P53 = 9007199254740992
local base_abs = base_hi * E9
local exact = base_abs < P53

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
