
-- Sliding-window-log step (sentinel_core::SlidingWindowState::step).
--
-- The log is a ring in one hash: one field per entry, '<seq>' = '<ts>:<cost>' (ts absolute
-- µs), oldest first, and a header: 'h' sequence number of the oldest entry, 'n' the next one,
-- 'u' sum of the costs, 'l' and 'c' timestamp and cost of the newest entry, 'o' timestamp of
-- the oldest. A grant reads the header, appends (or merges into) the newest entry and drops
-- expired ones from the head: O(1) amortised, three commands when nothing expires. Only a
-- refusal walks the log (until enough would be freed), so a step is O(limit) at worst, and
-- limit <= 10,000 (SlidingWindowState::MAX_LIMIT).
--
-- KEYS[1] state key
-- ARGV: now|'' limit period_us cost peek(0/1) extra_ttl_ms
-- Reply: {allowed, remaining, retry_after_us (-1 = never), reset_after_us}
local key = KEYS[1]
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local peek = ARGV[5] == '1'

local function malformed()
  return redis.error_reply('ERR sentinel: malformed sliding-window state')
end

local hdr = redis.call('HMGET', key, 'h', 'n', 'u', 'l', 'c', 'o')
local exists = hdr[1] or hdr[2] or hdr[3] or hdr[4] or hdr[5] or hdr[6]
local h, n, u, last, last_cost, oldest = 0, 0, 0, nil, nil, nil
if exists then
  if not (hdr[1] and hdr[2] and hdr[3] and hdr[4] and hdr[5] and hdr[6]) then
    return malformed()
  end
  h, n, u, last_cost = tonumber(hdr[1]), tonumber(hdr[2]), tonumber(hdr[3]), tonumber(hdr[5])
  last, oldest = ts_in(hdr[4]), ts_in(hdr[6])
  if not (h and n and u and last_cost and last and oldest) or h >= n then
    return malformed()
  end
end

-- An entry's (ts offset, cost), or nil.
local function entry(seq)
  local raw = redis.call('HGET', key, string.format('%d', seq))
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
local now_raw = now
if exists and last > now then
  now = last
end

-- Entries at ts count while now < ts + period: find the first one still counting.
local first, used, first_ts = h, u, oldest
if exists and oldest + period <= now then
  repeat
    local ts, c = entry(first)
    if not ts then
      return malformed()
    end
    if ts + period > now then
      first_ts = ts
      break
    end
    used = used - c
    first = first + 1
  until first >= n
end
local live = first < n

local left = limit - used
if left < 0 then
  left = 0
end
local reset = 0
if live then
  reset = last + period - now
end

-- Deletes the dropped head entries (HDEL in chunks, below Lua's C-stack limit for unpack).
local function delete_dropped()
  local fields = {}
  for seq = h, first - 1 do
    fields[#fields + 1] = string.format('%d', seq)
    if #fields == 1000 then
      redis.call('HDEL', key, unpack(fields))
      fields = {}
    end
  end
  if #fields > 0 then
    redis.call('HDEL', key, unpack(fields))
  end
end

-- Persists the drop (the reference keeps the shortened log even when it refuses).
local function commit_drop()
  if first == h then
    return
  end
  if not live then
    redis.call('DEL', key)
    return
  end
  delete_dropped()
  redis.call('HSET', key, 'h', string.format('%d', first), 'u', string.format('%d', used),
    'o', ts_out(first_ts))
end

if cost > limit then
  if not peek then
    commit_drop()
  end
  return {0, left, -1, reset}
end

if used + cost <= limit then
  if peek then
    -- What the stored log itself needs to be forgotten.
    local r = 0
    if exists then
      r = last + period - now_raw
      if r < 0 then
        r = 0
      end
    end
    return {1, limit - used - cost + 1, 0, r}
  end
  local stamp = ts_out(now)
  if live and last == now then
    -- Same microsecond as the newest entry: merge into it.
    if first > h then
      delete_dropped()
    end
    local c = last_cost + cost
    redis.call('HSET', key, string.format('%d', n - 1), string.format('%s:%d', stamp, c),
      'h', string.format('%d', first), 'u', string.format('%d', used + cost),
      'c', string.format('%d', c), 'o', ts_out(first_ts))
  elseif live then
    if first > h then
      delete_dropped()
    end
    redis.call('HSET', key, string.format('%d', n), string.format('%s:%d', stamp, cost),
      'h', string.format('%d', first), 'n', string.format('%d', n + 1),
      'u', string.format('%d', used + cost), 'l', stamp, 'c', ARGV[4], 'o', ts_out(first_ts))
  else
    if exists then
      redis.call('DEL', key)
    end
    redis.call('HSET', key, '0', string.format('%s:%d', stamp, cost), 'h', '0', 'n', '1',
      'u', ARGV[4], 'l', stamp, 'c', ARGV[4], 'o', stamp)
  end
  redis.call('PEXPIRE', key, ttl_ms(period, tonumber(ARGV[6])))
  return {1, limit - used - cost, 0, period}
end

-- Refused: the shortest wait is until enough of the oldest entries have left the window.
if not peek then
  commit_drop()
end
local retry = 0
local still = used
for seq = first, n - 1 do
  local ts, c = entry(seq)
  if not ts then
    return malformed()
  end
  still = still - c
  if still + cost <= limit then
    retry = ts + period - now
    break
  end
end
return {0, left, retry, reset}
