
-- GCRA step (sentinel_core::GcraState::step). One string key: the TAT (absolute µs).
-- KEYS[1] state key
-- ARGV: now|'' limit period_us cost peek(0/1) extra_ttl_ms emission_interval_us
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local limit = tonumber(ARGV[2])
local cost = tonumber(ARGV[4])
local t = tonumber(ARGV[7])
local tau = t * limit

-- An absent key is TAT 0 (the epoch): anything before now reads as now.
local stored
local tat = now
local raw = redis.call('GET', key)
if raw then
  stored = ts_in(raw)
  if not stored then
    return redis.error_reply('ERR sentinel: malformed GCRA state')
  end
  if stored > now then
    tat = stored
  end
end

-- (tau - (tat - now)) / t, floored, at least 0: exact, as the numerator is below 2^46.
local left = tau - (tat - now)
if left < 0 then
  left = 0
end
if cost > limit then
  return {0, math.floor(left / t), -1, tat - now}
end
local new_tat = tat + t * cost
-- (The reference saturates allow_at at the epoch; that only matters when it is before now,
-- where both allow.)
local allow_at = new_tat - tau
if now < allow_at then
  return {0, math.floor(left / t), allow_at - now, tat - now}
end
local remaining = math.floor((tau - (new_tat - now)) / t)
if ARGV[5] == '1' then
  return {1, remaining + 1, 0, tat - now}
end
redis.call('SET', key, ts_out(new_tat), 'PX', ttl_ms(new_tat - now, tonumber(ARGV[6])))
return {1, remaining, 0, new_tat - now}
