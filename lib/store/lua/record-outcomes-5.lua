--[[
  Counts a batch of record outcomes, each exactly once, however often the batch is applied
  (ioredis re-sends in-flight commands after a reconnect; a restart replays unflushed work).

  Input:
    KEYS[1] job meta hash       (must exist, else the job's state was lost)
    KEYS[2] done bitmap         (bit <index> set once that record is counted)
    KEYS[3] counts hash
    KEYS[4] results list        (one element per batch of newly counted results)
    KEYS[5] failed bitmap       (bit <index> set for a newly counted failure: retry-failed)
    ARGV[1] packed outcomes, one per line ending in "\n":
            index \t bucket \t ok \t status \t attempts \t time_ms \t error \t id_json [\t snippet_json]
            (ok is 0 or 1; status 0 means no HTTP status; error is empty on success)
    ARGV[2] the writer's fencing token (the meta field `fence` of its lease), or '' when the
            writer holds no lease (tests of the store alone)

  Output:
    -1 when KEYS[1] does not exist, -2 when the fencing token is not the newest (the writer
    was deposed: another instance took the job over), else the number of outcomes newly
    counted.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if ARGV[2] ~= nil and ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'fence') ~= ARGV[2] then
  return -2
end

local packed = ARGV[1]
local pattern = '^(%d+)\t(%d+)\t(([01])\t(%d+)\t(%d+)\t([%d%.]+)\t([%w_]*)\t[^\n]*)\n'

-- Pass 1: parse the whole batch before writing anything. Redis does not undo a script's
-- writes when it errors, so a malformed line found half-way would leave done bits set for
-- records that were never counted.
local parsed = {}
local pos = 1
while pos <= #packed do
  local index, bucket, result, ok, status, attempts, time, reason = string.match(packed, pattern, pos)
  if index == nil then
    return redis.error_reply('malformed outcome at byte ' .. pos)
  end
  pos = pos + #index + #bucket + #result + 3
  parsed[#parsed + 1] = { index, bucket, result, ok, status, tonumber(attempts), tonumber(time), reason }
end

-- Pass 2: count each record whose done bit was not yet set.
local counted, succeeded, retries, timeSum = 0, 0, 0, 0
local minTime, maxTime = nil, nil
local statuses, reasons, buckets, results = {}, {}, {}, {}
for _, o in ipairs(parsed) do
  local index, bucket, result, ok, status, attempts, t, reason = o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8]
  if redis.call('SETBIT', KEYS[2], index, 1) == 0 then
    counted = counted + 1
    if ok == '1' then
      succeeded = succeeded + 1
    else
      redis.call('SETBIT', KEYS[5], index, 1)
    end
    -- An invalid record had no attempt at all: it adds no retry.
    if attempts > 1 then retries = retries + attempts - 1 end
    timeSum = timeSum + t
    if minTime == nil or t < minTime then minTime = t end
    if maxTime == nil or t > maxTime then maxTime = t end
    if status ~= '0' then statuses[status] = (statuses[status] or 0) + 1 end
    if reason ~= '' then reasons[reason] = (reasons[reason] or 0) + 1 end
    buckets[bucket] = (buckets[bucket] or 0) + 1
    results[#results + 1] = result
  end
end

if counted == 0 then
  return 0
end

redis.call('HINCRBY', KEYS[3], 'count', counted)
redis.call('HINCRBY', KEYS[3], 'succeeded', succeeded)
redis.call('HINCRBY', KEYS[3], 'failed', counted - succeeded)
redis.call('HINCRBY', KEYS[3], 'retries', retries)
redis.call('HINCRBYFLOAT', KEYS[3], 'time_sum', timeSum)
local storedMin = tonumber(redis.call('HGET', KEYS[3], 'time_min'))
if storedMin == nil or minTime < storedMin then
  redis.call('HSET', KEYS[3], 'time_min', minTime)
end
local storedMax = tonumber(redis.call('HGET', KEYS[3], 'time_max'))
if storedMax == nil or maxTime > storedMax then
  redis.call('HSET', KEYS[3], 'time_max', maxTime)
end
for status, n in pairs(statuses) do redis.call('HINCRBY', KEYS[3], 's:' .. status, n) end
for reason, n in pairs(reasons) do redis.call('HINCRBY', KEYS[3], 'e:' .. reason, n) end
for bucket, n in pairs(buckets) do redis.call('HINCRBY', KEYS[3], 'h:' .. bucket, n) end
redis.call('RPUSH', KEYS[4], table.concat(results, '\n'))
return counted
