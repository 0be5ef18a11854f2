-- Fixed-window step (sentinel_core::FixedWindowState::step), one key holding
-- "<window start us>:<used>".
-- KEYS[1] state key
-- ARGV: now_us|'' limit period_us cost peek(0/1) extra_ttl_ms
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local now = sentinel_now(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local peek = ARGV[5] == '1'
local extra = tonumber(ARGV[6])

local start = now - now_mod(period)
local stored_start, stored_used = nil, 0
local raw = redis.call('GET', key)
if raw then
  local s, u = string.match(raw, '^(%d+):(%d+)$')
  if not s then
    return sentinel_malformed('fixed-window')
  end
  stored_start, stored_used = ts_in(s), tonumber(u)
else
  -- An absent key is window 0 with nothing used.
  stored_start = start - 1
end
local end_in = start + period - now
local used = 0
if stored_start == start then
  used = stored_used
end
local function reset(u)
  if u > 0 then
    return end_in
  end
  return 0
end
local function left(u)
  if u > limit then
    return 0
  end
  return limit - u
end

if cost > limit then
  -- The state rolls over to the current (empty) window, which is the same as no state.
  if raw and not peek and stored_start ~= start then
    redis.call('DEL', key)
  end
  return {0, left(used), -1, reset(used)}
end
if used + cost <= limit then
  if peek then
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
  redis.call('SET', key, ts_out(start) .. ':' .. fmt(used), 'PX', ttl_ms(end_in, extra))
  return {1, limit - used, 0, reset(used)}
end
return {0, left(used), end_in, reset(used)}
