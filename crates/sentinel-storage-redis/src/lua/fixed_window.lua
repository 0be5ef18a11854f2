
-- Fixed-window step (sentinel_core::FixedWindowState::step). One string key:
-- "<window start, absolute µs>:<units used>".
-- KEYS[1] state key
-- ARGV: now|'' limit period_us cost peek(0/1) extra_ttl_ms
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local peek = ARGV[5] == '1'

-- Windows are aligned to multiples of the period since the epoch: start = now - now % period,
-- computed exactly (by long division of the decimal string when now may exceed 2^53).
local into
if now_abs then
  into = now_abs % period
else
  into = 0
  local s = ARGV[1]
  for i = 1, #s do
    into = (into * 10 + string.byte(s, i) - 48) % period
  end
end
local start = now - into
local end_in = period - into

local raw = redis.call('GET', key)
local stored_start, stored_used
local used = 0
if raw then
  local s, u = string.match(raw, '^(%d+):(%d+)$')
  if not s then
    return redis.error_reply('ERR sentinel: malformed fixed-window state')
  end
  stored_start, stored_used = ts_in(s), tonumber(u)
  if stored_start == start then
    used = stored_used
  end
end
local left = limit - used
if left < 0 then
  left = 0
end
local reset = 0
if used > 0 then
  reset = end_in
end

if cost > limit then
  -- The state rolls over to the current (empty) window, which is the same as no state.
  if raw and not peek and stored_start ~= start then
    redis.call('DEL', key)
  end
  return {0, left, -1, reset}
end
if used + cost > limit then
  return {0, left, end_in, reset}
end
if peek then
  -- What the stored state itself needs to be forgotten.
  local r = 0
  if raw and stored_used > 0 then
    r = stored_start + period - now
    if r < 0 then
      r = 0
    end
  end
  return {1, limit - used - cost + 1, 0, r}
end
used = used + cost
redis.call('SET', key, string.format('%s:%d', ts_out(start), used), 'PX',
  ttl_ms(end_in, tonumber(ARGV[6])))
if used > 0 then
  reset = end_in
end
return {1, limit - used, 0, reset}
