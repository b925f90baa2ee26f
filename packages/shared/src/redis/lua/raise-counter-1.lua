--[[
  Moves a counter up to at least a floor that Postgres has seen, so a Redis that lost it (or
  went back in time) never hands out a number Postgres already knows: the fencing counter
  (floor: the token Postgres last accepted) and the arrival counter (floor: the highest
  arrival sequence Postgres has decided).

  Input:
    KEYS[1] counter
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
