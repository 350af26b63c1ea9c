-- Apply one tick (or one single-agent evaluation) of one management unit atomically.
--
-- KEYS[1] tick claim (fencing token)   KEYS[2] tracks hash   KEYS[3] audit stream
-- KEYS[4] outbox stream                KEYS[5] status hash   KEYS[6] out-seconds hash of the day
-- KEYS[7] adherence history hash of the day (s:<agent> scheduled, o:<agent> out while scheduled)
-- KEYS[8] due-time index (sorted set: agent -> epoch ms of its next due instant)
-- KEYS[9..] per-item keys, in event order: for each event that closes its incident, its closed key,
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
-- Returns {applied (1) or fenced (-1), rejected agent ids...}: a rejected agent's change and events
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
  else
    redis.call('HSET', KEYS[2], agent, body)
  end
end

local audited, queued = false, false
local item = 8
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

-- Bounded by the roster (tracks, status) or by one day (out-seconds): their TTL follows the writes.
for _, k in ipairs({2, 5, 6, 8}) do
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
local result = {1}
for _, agent in ipairs(rejected) do
  result[#result + 1] = agent
end
return result
