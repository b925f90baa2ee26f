--[[
  Puts a queued ticket back into its coupon's pending set when the set lost it (keys
  deleted, partial data loss), keeping its original arrival sequence. A final ticket, or
  one still pending, is left alone.

  Input:
    KEYS[1] pending  zset
    KEYS[2] ticket   hash
    ARGV[1] ticketId

  Output: 1 restored, 0 nothing to do.
]]
if redis.call('HGET', KEYS[2], 'status') ~= 'queued' then return 0 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local seq = redis.call('HGET', KEYS[2], 'seq')
if not seq then return 0 end
redis.call('ZADD', KEYS[1], seq, ARGV[1])
return 1
