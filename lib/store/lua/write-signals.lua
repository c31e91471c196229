--[[
  Writes what a job's holder sees of its target (DESIGN §8) into the job's meta hash, only
  while the writer's lease is the job's newest. A holder deposed by a takeover could
  otherwise overwrite the new holder's circuit with its own, and the new holder writes
  only on a change, so a stale `open` would stay.

  Input:
    KEYS[1] job meta hash
    ARGV[1] the writer's fencing token, ARGV[2] concurrency_limit, ARGV[3] circuit

  Output:
    1 when written, 0 when the token is not the newest or the job is gone.
]]
if redis.call('HGET', KEYS[1], 'fence') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'concurrency_limit', ARGV[2], 'circuit', ARGV[3])
return 1
