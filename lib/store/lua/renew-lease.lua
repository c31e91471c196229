--[[
  Renews a lease its holder still holds, and tells the holder what other instances asked of
  the job (the `control` field: cancel or pause), so a lost pub/sub message costs at most one
  renewal interval.

  A lease that has expired is not taken again here, even if nobody took the job since: its
  holder stopped trusting it anyway (lease-keeper.ts), and a renewal racing the holder's own
  release must not bring back a lease it has just given up.

  Input:
    KEYS[1] job meta hash, KEYS[2] lease string
    ARGV[1] instance id, ARGV[2] the holder's fencing token, ARGV[3] lease time, ms

  Output:
    nil when the lease is no longer the caller's (expired, released, or taken by another
    instance), else the job's `control` field ('' when none).
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] .. ' ' .. ARGV[2] then
  return false
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('HGET', KEYS[1], 'control') or ''
