--[[
  Gives a lease up, only if the caller still holds it (a newer holder's lease stays).

  Input:  KEYS[1] lease string; ARGV[1] `<instance> <fence>` of the caller
  Output: 1 when released, else 0.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
