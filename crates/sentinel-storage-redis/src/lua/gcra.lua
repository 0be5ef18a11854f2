-- GCRA step (sentinel_core::GcraState::step), one key holding the TAT in microseconds.
-- KEYS[1] state key
-- ARGV: now_us|'' limit period_us cost peek(0/1) extra_ttl_ms emission_interval_us
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local now = sentinel_now(ARGV[1])
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
local peek = ARGV[5] == '1'
local extra = tonumber(ARGV[6])
local t = tonumber(ARGV[7])
local tau = t * limit

local stored = 0
local raw = redis.call('GET', key)
if raw then
  stored = tonumber(raw)
  if not stored or stored < 0 then
    return sentinel_malformed('GCRA')
  end
end

local tat = math.max(stored, now)
local function remaining_at(x)
  local v = tau - (x - now)
  if v < 0 then
    v = 0
  end
  return idiv(v, t)
end

if cost > limit then
  return {0, remaining_at(tat), -1, tat - now}
end
local new_tat = tat + t * cost
local allow_at = new_tat - tau
if allow_at < 0 then
  allow_at = 0
end
if now < allow_at then
  return {0, remaining_at(tat), allow_at - now, tat - now}
end
if peek then
  local r = stored - now
  if r < 0 then
    r = 0
  end
  return {1, remaining_at(new_tat) + 1, 0, r}
end
redis.call('SET', key, fmt(new_tat), 'PX', ttl_ms(new_tat - now, extra))
return {1, remaining_at(new_tat), 0, new_tat - now}
