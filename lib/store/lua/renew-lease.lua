--[[
  Renews a lease its holder still holds, and tells the holder what other instances asked of
  the job (the `control` field: cancel or pause), so a lost pub/sub message costs at most one
  renewal interval.

  A lease that expired while nobody took the job (the fencing token is still the holder's) is
  simply taken again: nobody else has counted anything under a newer token.

  Input:
    KEYS[1] job meta hash, KEYS[2] lease string
    ARGV[1] instance id, ARGV[2] the holder's fencing token, ARGV[3] lease time, ms

  Output:
    nil when the lease is lost (another token is newer, or the job is gone), else the
    job's `control` field ('' when none).
]]
local mine = ARGV[1] .. ' ' .. ARGV[2]
local held = redis.call('GET', KEYS[2])
if held == mine then
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
elseif held == false and redis.call('HGET', KEYS[1], 'fence') == ARGV[2] then
  redis.call('SET', KEYS[2], mine, 'PX', ARGV[3])
else
  return false
end
return redis.call('HGET', KEYS[1], 'control') or ''
