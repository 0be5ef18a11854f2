-- Debounce in client-clock mode: the key holds the end of the open window (client
-- microseconds), so a client clock decides when it closes. (Server-clock mode uses plain
-- SET NX PX instead of this script.)
-- KEYS[1] debounce key
-- ARGV: now_us window_us extra_ttl_ms
-- Reply: 1 = first sighting (window opened), 0 = repeat inside the open window.
local key = KEYS[1]
local now = sentinel_now(ARGV[1])
local window = tonumber(ARGV[2])
local extra = tonumber(ARGV[3])
local raw = redis.call('GET', key)
if is_digits(raw) and now < ts_in(raw) then
  return 0
end
redis.call('SET', key, ts_out(now + window), 'PX', ttl_ms(window, extra))
return 1
