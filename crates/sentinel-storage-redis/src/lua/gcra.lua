-- GCRA step (sentinel_core::GcraState::step), one key holding the TAT (absolute µs).
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

-- An absent key is TAT 0 (the epoch): anything before now reads as now.
local stored = now - 1
local raw = redis.call('GET', key)
if raw then
  if not is_digits(raw) then
    return sentinel_malformed('GCRA')
  end
  stored = ts_in(raw)
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
-- (The reference saturates allow_at at the epoch; that only matters when it is before now,
-- where both allow.)
local allow_at = new_tat - tau
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
redis.call('SET', key, ts_out(new_tat), 'PX', ttl_ms(new_tat - now, extra))
return {1, remaining_at(new_tat), 0, new_tat - now}
