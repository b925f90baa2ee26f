--[[
  Releases a coupon lock, only if the caller still holds it (compare-and-delete), so a
  worker whose lease expired never deletes its successor's lock.

  Input:
    KEYS[1] lock
    ARGV[1] holder's random token

  Output: 1 released, 0 not held.
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
