-- Debounce in client-clock mode: the key holds the end of the open window (client
-- microseconds), so a client clock decides when it closes. (Server-clock mode uses plain
-- SET NX PX instead of this script.)
-- KEYS[1] debounce key
-- ARGV: now_us window_us extra_ttl_ms
-- Reply: 1 = first sighting (window opened), 0 = repeat inside the open window.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local extra = tonumber(ARGV[3])
local raw = redis.call('GET', key)
if raw then
  local ends = tonumber(raw)
  if ends and now < ends then
    return 0
  end
end
redis.call('SET', key, fmt(now + window), 'PX', ttl_ms(window, extra))
return 1
