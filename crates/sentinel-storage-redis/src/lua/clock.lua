-- Sets this call's clock (declared in prelude.lua) from ARGV[1]: µs since the epoch from the
-- client, or empty for Redis's own clock.
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
  now_abs = nil
  base_hi, now = split(ARGV[1])
end
base_abs = base_hi * E9
exact = base_abs < P53
