--[[
  Moves the fencing counter up to at least a floor (the token Postgres last saw), so a
  Redis that lost the counter never hands out tokens Postgres would refuse forever.

  Input:
    KEYS[1] fence counter
    ARGV[1] floor

  Output: the counter after the call.
]]
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if current < floor then
  redis.call('SET', KEYS[1], floor)
  return floor
end
return current
