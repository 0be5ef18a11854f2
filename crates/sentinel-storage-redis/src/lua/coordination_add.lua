-- Coordination counter: add ARGV[1] to the decimal counter at KEYS[1] (absent = 0),
-- saturating at 2^53 - 1, and give the key a TTL of ARGV[2] ms. Replies the new total, or -1
-- when the key holds something other than a counter.
local max = 9007199254740991
local cur = redis.call('GET', KEYS[1])
local n = 0
if cur then
  if not string.match(cur, '^%d+$') then
    return -1
  end
  n = tonumber(cur)
end
n = n + tonumber(ARGV[1])
if n > max then
  n = max
end
redis.call('SET', KEYS[1], string.format('%.0f', n), 'PX', ARGV[2])
return n
