-- Apply one tick (or one single-agent evaluation) of one management unit atomically.
--
-- KEYS[1] tick claim (fencing token)   KEYS[2] tracks hash   KEYS[3] audit stream
-- KEYS[4] outbox stream                KEYS[5] status hash   KEYS[6] out-seconds hash of the day
-- KEYS[7] adherence history hash of the day (s:<agent> scheduled, o:<agent> out while scheduled)
-- KEYS[8] due-time index (sorted set: agent -> epoch ms of its next due instant)
-- KEYS[9] open accrual segments of the day (agent -> '<counter at open>|<flags>', '@c' -> the counter)
-- KEYS[10] tracks version (moved on by every commit that writes a track: a reader skips re-reading)
-- KEYS[11..] per-item keys, in event order: for each event that closes its incident, its closed key,
--   then (if the incident belongs to a storm) the storm's closed-members set
-- ARGV[1] fencing token ('' = no fencing: single-agent evaluation or a supervisor action)
-- ARGV[2] ttl seconds   ARGV[3] audit retention in milliseconds (trimmed by entry id time, MINID)
-- ARGV[4] n changes, then per change: agent, expected version, new track JSON ('' = delete)
-- then n events, then per event: agent, kind, incident id, event JSON, to_outbox (0/1),
--   closed incident JSON ('' unless the event closed the incident), in a storm (0/1)
-- then n status entries, then per entry: agent, value
-- then n out-seconds increments, then per entry: agent, seconds
-- then n history groups, then per group: field prefix ('s:' or 'o:'), seconds, agent ids joined by
--   newlines (one group per distinct value: a tick adds the same seconds to every agent); then the
--   history TTL in seconds
-- then n due instants, then per entry: agent, epoch milliseconds ('' = nothing due: removed)
-- then the accrual: the seconds this tick adds ('' = no accrual), n groups, then per group: flags
--   ('s' scheduled, 'o' out of adherence, 'so', or '' neither) and agent ids joined by newlines, the
--   agents whose flags may have changed. Their open segment (if its flags differ) is closed into
--   KEYS[6] / KEYS[7] and one with the new flags opened; then the day's counter moves on by the
--   seconds. An agent's seconds are the counter's growth while its segment is open, so an agent whose
--   flags stay the same costs nothing per tick (the readers add the open segments).
-- Returns {applied (1) or fenced (-1), tracks version before, after, rejected agent ids...}: a rejected agent's change and events
-- were dropped because someone else changed its track since it was read (compare-and-set).
-- The outbox is never trimmed: entries leave it only when delivered (see the store's ack script).
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {-1}
end
local ttl = tonumber(ARGV[2])
local now = redis.call('TIME')
local minid = tostring(math.max(0, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[3])))
local i = 4
local function take()
  local value = ARGV[i]
  i = i + 1
  return value
end

local rejected, rejected_set = {}, {}
if redis.call('EXISTS', KEYS[10]) == 0 then
  -- A fresh base (milliseconds now), not 0: a reader that knew an emptied Redis's version does not match.
  redis.call('SET', KEYS[10], string.format('%d', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)))
end
local version_before = tonumber(redis.call('GET', KEYS[10]))
local wrote_track = false
local n = tonumber(take())
for _ = 1, n do
  local agent, expected, body = take(), tonumber(take()), take()
  local current = redis.call('HGET', KEYS[2], agent)
  local version = 0
  if current then
    version = cjson.decode(current)['version'] or 0
  end
  if version ~= expected then
    rejected[#rejected + 1] = agent
    rejected_set[agent] = true
  elseif body == '' then
    redis.call('HDEL', KEYS[2], agent)
    wrote_track = true
  else
    redis.call('HSET', KEYS[2], agent, body)
    wrote_track = true
  end
end

local audited, queued = false, false
local item = 10
n = tonumber(take())
for _ = 1, n do
  local agent, kind, incident_id, body, to_outbox, closed, in_storm =
    take(), take(), take(), take(), take(), take(), take()
  local closed_key, storm_key = nil, nil
  if closed ~= '' then
    item = item + 1
    closed_key = KEYS[item]
    if in_storm == '1' then
      item = item + 1
      storm_key = KEYS[item]
    end
  end
  if not rejected_set[agent] then
    redis.call('XADD', KEYS[3], 'MINID', minid, '*', 'kind', kind, 'incident', incident_id,
               'agent', agent, 'event', body)
    audited = true
    if to_outbox == '1' then
      redis.call('XADD', KEYS[4], '*', 'kind', kind, 'incident', incident_id, 'agent', agent, 'event', body)
      queued = true
    end
    if closed_key then
      redis.call('SET', closed_key, closed, 'EX', ttl)
      if storm_key then
        redis.call('SADD', storm_key, incident_id)
        redis.call('EXPIRE', storm_key, ttl)
      end
    end
  end
end

local function hset_chunked(key, count, increment)
  local batch = {}
  for _ = 1, count do
    local field, value = take(), take()
    if increment then
      redis.call('HINCRBYFLOAT', key, field, value)
    else
      batch[#batch + 1] = field
      batch[#batch + 1] = value
      if #batch >= 2000 then
        redis.call('HSET', key, unpack(batch))
        batch = {}
      end
    end
  end
  if #batch > 0 then
    redis.call('HSET', key, unpack(batch))
  end
end
hset_chunked(KEYS[5], tonumber(take()), false)
hset_chunked(KEYS[6], tonumber(take()), true)
for _ = 1, tonumber(take()) do
  local prefix, seconds, agents = take(), take(), take()
  for agent in string.gmatch(agents, '[^\n]+') do
    redis.call('HINCRBYFLOAT', KEYS[7], prefix .. agent, seconds)
  end
end
local history_ttl = take()
if redis.call('EXISTS', KEYS[7]) == 1 then
  redis.call('EXPIRE', KEYS[7], history_ttl)  -- one hash per unit and day, kept HISTORY_TTL
end

-- The due-time index of the agents evaluated (a rejected agent keeps its entry: it is evaluated again).
n = tonumber(take())
local due_batch = {}
for _ = 1, n do
  local agent, score = take(), take()
  if not rejected_set[agent] then
    if score == '' then
      redis.call('ZREM', KEYS[8], agent)
    else
      due_batch[#due_batch + 1] = score
      due_batch[#due_batch + 1] = agent
      if #due_batch >= 2000 then
        redis.call('ZADD', KEYS[8], unpack(due_batch))
        due_batch = {}
      end
    end
  end
end
if #due_batch > 0 then
  redis.call('ZADD', KEYS[8], unpack(due_batch))
end

-- Accrual by segments: only the agents whose flags may have changed are touched.
local elapsed = take()
n = tonumber(take())
if elapsed ~= '' then
  local counter = tonumber(redis.call('HGET', KEYS[9], '@c') or '0')
  for _ = 1, n do
    local flags, agents = take(), take()
    for agent in string.gmatch(agents, '[^\n]+') do
      local open = redis.call('HGET', KEYS[9], agent)
      local sep = open and string.find(open, '|', 1, true)
      local old = sep and string.sub(open, sep + 1) or ''
      if old ~= flags then
        if sep then
          local seconds = counter - tonumber(string.sub(open, 1, sep - 1))
          if seconds > 0 then
            local out, scheduled = string.find(old, 'o', 1, true), string.find(old, 's', 1, true)
            if out then
              redis.call('HINCRBYFLOAT', KEYS[6], agent, seconds)
            end
            if scheduled then
              redis.call('HINCRBYFLOAT', KEYS[7], 's:' .. agent, seconds)
              if out then
                redis.call('HINCRBYFLOAT', KEYS[7], 'o:' .. agent, seconds)
              end
            end
          end
        end
        if flags == '' then
          redis.call('HDEL', KEYS[9], agent)
        else
          redis.call('HSET', KEYS[9], agent, tostring(counter) .. '|' .. flags)
        end
      end
    end
  end
  redis.call('HINCRBYFLOAT', KEYS[9], '@c', elapsed)
  redis.call('EXPIRE', KEYS[9], history_ttl)
  if redis.call('EXISTS', KEYS[7]) == 1 then
    redis.call('EXPIRE', KEYS[7], history_ttl)
  end
else
  for _ = 1, n do
    take()
    take()
  end
end
local version_after = version_before
if wrote_track then
  version_after = redis.call('INCR', KEYS[10])
end

-- Bounded by the roster (tracks, status) or by one day (out-seconds): their TTL follows the writes.
for _, k in ipairs({2, 5, 6, 8, 10}) do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    redis.call('EXPIRE', KEYS[k], ttl)
  end
end
if audited then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
if queued then
  redis.call('PERSIST', KEYS[4])  -- undelivered entries never expire; emptied, it expires (ack script)
end
local result = {1, version_before, version_after}
for _, agent in ipairs(rejected) do
  result[#result + 1] = agent
end
return result
