-- Sliding-window-log step (sentinel_core::SlidingWindowState::step).
--
-- The log is a ring in one hash: fields 'h' (sequence number of the oldest entry), 'n' (next
-- sequence number), 'u' (sum of the costs in the log), 'l' (timestamp of the newest entry),
-- and one field per entry, '<seq>' = '<ts us>:<cost>', oldest first. A step reads the header,
-- drops the expired head entries and appends or merges one entry: O(1) amortised. Only a
-- refusal walks the log (until enough would be freed), so a step is O(limit) at worst, and
-- limit <= 10,000 (SlidingWindowState::MAX_LIMIT).
--
-- KEYS[1] state key
-- ARGV: now_us|'' limit period_us cost peek(0/1) extra_ttl_ms
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local now_raw = sentinel_now(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local peek = ARGV[5] == '1'
local extra = tonumber(ARGV[6])

local hdr = redis.call('HMGET', key, 'h', 'n', 'u', 'l')
local exists = hdr[1] or hdr[2] or hdr[3] or hdr[4]
local h, n, u, last = 0, 0, 0, nil
if exists then
  if not (is_digits(hdr[1]) and is_digits(hdr[2]) and is_digits(hdr[3]) and is_digits(hdr[4])) then
    return sentinel_malformed('sliding-window')
  end
  h, n, u, last = tonumber(hdr[1]), tonumber(hdr[2]), tonumber(hdr[3]), ts_in(hdr[4])
  if h >= n then
    return sentinel_malformed('sliding-window')
  end
end

local function entry(seq)
  local raw = redis.call('HGET', key, fmt(seq))
  if not raw then
    return nil
  end
  local ts, c = string.match(raw, '^(%d+):(%d+)$')
  if not ts then
    return nil
  end
  return ts_in(ts), tonumber(c)
end

-- A clock that steps back stands still.
local now = now_raw
if exists and last > now then
  now = last
end

-- Entries at ts count while now < ts + period.
local first = h
local used = u
while first < n do
  local ts, c = entry(first)
  if not ts then
    return sentinel_malformed('sliding-window')
  end
  if ts + period > now then
    break
  end
  used = used - c
  first = first + 1
end
local live = first < n

local function reset_now()
  if live then
    return last + period - now
  end
  return 0
end
local function left(x)
  if x > limit then
    return 0
  end
  return limit - x
end

-- Persists the dropped head entries (the same state the reference keeps).
local function commit_drop()
  if first == h then
    return
  end
  if not live then
    redis.call('DEL', key)
    return
  end
  for seq = h, first - 1 do
    redis.call('HDEL', key, fmt(seq))
  end
  redis.call('HSET', key, 'h', fmt(first), 'u', fmt(used))
  redis.call('PEXPIRE', key, ttl_ms(last + period - now, extra))
end

if cost > limit then
  if not peek then
    commit_drop()
  end
  return {0, left(used), -1, reset_now()}
end

if used + cost <= limit then
  if peek then
    local r = 0
    if exists then
      r = last + period - now_raw
      if r < 0 then
        r = 0
      end
    end
    return {1, limit - used - cost + 1, 0, r}
  end
  if live then
    for seq = h, first - 1 do
      redis.call('HDEL', key, fmt(seq))
    end
  end
  if live and last == now then
    local ts, c = entry(n - 1)
    if not ts then
      return sentinel_malformed('sliding-window')
    end
    redis.call('HSET', key, fmt(n - 1), ts_out(ts) .. ':' .. fmt(c + cost))
  else
    if not live and exists then
      redis.call('DEL', key)
      first, n = 0, 0
    end
    redis.call('HSET', key, fmt(n), ts_out(now) .. ':' .. fmt(cost))
    n = n + 1
  end
  used = used + cost
  redis.call('HSET', key, 'h', fmt(first), 'n', fmt(n), 'u', fmt(used), 'l', ts_out(now))
  redis.call('PEXPIRE', key, ttl_ms(period, extra))
  return {1, limit - used, 0, period}
end

-- Refused: the shortest wait is until enough of the oldest entries have left the window.
if not peek then
  commit_drop()
end
local remaining = left(used)
local freed_left = used
local retry = 0
for seq = first, n - 1 do
  local ts, c = entry(seq)
  if not ts then
    return sentinel_malformed('sliding-window')
  end
  freed_left = freed_left - c
  if freed_left + cost <= limit then
    retry = ts + period - now
    break
  end
end
return {0, remaining, retry, reset_now()}
