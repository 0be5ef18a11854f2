
-- Debounce in client-clock mode: the key holds the end of the open window (absolute µs), so
-- the client's clock decides when it closes. (Server-clock mode uses SET NX PX instead.)
-- KEYS[1] debounce key
-- ARGV: now window_us extra_ttl_ms
-- Reply: 1 = first sighting (window opened), 0 = repeat inside the open window.
local key = KEYS[1]
local window = tonumber(ARGV[2])
local raw = redis.call('GET', key)
if raw then
  local ends = ts_in(raw)
  if ends and now < ends then
    return 0
  end
end
redis.call('SET', key, ts_out(now + window), 'PX', ttl_ms(window, tonumber(ARGV[3])))
return 1
