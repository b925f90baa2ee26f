--[[
  Reads the next batch to decide: the pending tickets with the lowest arrival sequence,
  with their users. Read-only; the caller holds the coupon lock.

  Input:
    KEYS[1] pending  zset ticketId -> arrival sequence
    ARGV[1] batch size
    ARGV[2] ticket key prefix

  Output: flat list { ticketId, seq, userId, ... } in arrival order;
          userId is '' when the ticket hash is gone.
]]
local entries = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #entries, 2 do
  local ticketId = entries[i]
  out[#out + 1] = ticketId
  out[#out + 1] = entries[i + 1]
  out[#out + 1] = redis.call('HGET', ARGV[2] .. ticketId, 'user') or ''
end
return out
