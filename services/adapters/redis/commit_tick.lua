-- Apply one tick (or one single-agent evaluation) of one management unit atomically.
--
-- KEYS[1] tick claim (fencing token)   KEYS[2] tracks hash   KEYS[3] audit stream
-- KEYS[4] outbox stream                KEYS[5] closed hash   KEYS[6] status hash
-- KEYS[7] out-seconds hash of the day
-- ARGV[1] fencing token ('' = no fencing: single-agent evaluation or a supervisor action)
-- ARGV[2] ttl seconds   ARGV[3] audit stream max length
-- ARGV[4] n changes, then per change: agent, expected version, new track JSON ('' = delete)
-- then n events, then per event: agent, kind, incident id, event JSON, to_outbox (0/1),
--   closed incident JSON ('' unless the event closed the incident)
-- then n status entries, then per entry: agent, value
-- then n out-seconds increments, then per entry: agent, seconds
-- Returns {applied (1) or fenced (-1), rejected agent ids...}: a rejected agent's change and events
-- were dropped because someone else changed its track since it was read (compare-and-set).
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {-1}
end
local ttl = tonumber(ARGV[2])
local maxlen = ARGV[3]
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

n = tonumber(take())
for _ = 1, n do
  local agent, kind, incident_id, body, to_outbox, closed = take(), take(), take(), take(), take(), take()
  if not rejected_set[agent] then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxlen, '*', 'kind', kind, 'incident', incident_id,
               'agent', agent, 'event', body)
    if to_outbox == '1' then
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', maxlen, '*', 'kind', kind, 'incident', incident_id,
                 'agent', agent, 'event', body)
    end
    if closed ~= '' then
      redis.call('HSET', KEYS[5], incident_id, closed)
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
hset_chunked(KEYS[6], tonumber(take()), false)
hset_chunked(KEYS[7], tonumber(take()), true)

for k = 2, 7 do
  if redis.call('EXISTS', KEYS[k]) == 1 then
    redis.call('EXPIRE', KEYS[k], ttl)
  end
end
local result = {1}
for _, agent in ipairs(rejected) do
  result[#result + 1] = agent
end
return result
