--[[
  Extends the lease of a coupon lock, only if the caller still holds it.

  Input:
    KEYS[1] lock
    ARGV[1] holder's random token
    ARGV[2] lease, ms

  Output: 1 renewed, 0 the lock is lost (expired or taken by another worker).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
