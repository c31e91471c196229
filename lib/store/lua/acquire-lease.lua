--[[
  Takes a job's lease when nobody holds it, and bumps its fencing token (docs/scale-out.md).

  Input:
    KEYS[1] job meta hash   (field `fence`: the token of the newest lease; `instance`: its holder)
    KEYS[2] lease string    (`<instance> <fence>`, expiring after the lease time)
    ARGV[1] instance id
    ARGV[2] lease time, ms

  Output:
    -1 when the job is gone, 0 when its lease is held, else the new fencing token.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. fence, 'PX', ARGV[2])
redis.call('HSET', KEYS[1], 'instance', ARGV[1])
return fence
