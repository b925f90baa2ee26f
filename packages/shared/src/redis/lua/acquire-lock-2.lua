--[[
  Takes a coupon lock and, with it, a new fencing token.

  Input:
    KEYS[1] lock   value = holder's random token
    KEYS[2] fence  counter
    ARGV[1] holder's random token
    ARGV[2] lease, ms

  Output: the fencing token (> 0) when granted, 0 when someone else holds the lock.
]]
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0
