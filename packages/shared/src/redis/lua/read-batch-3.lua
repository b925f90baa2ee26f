--[[
  Reads the next batch to decide: the pending tickets with the lowest arrival sequence, with
  their users, and the coupon's mirror of Postgres, which the caller compares with Postgres's
  high-water mark before deciding. Read-only; the caller holds the coupon lock.

  It also counts the tickets that fell out of line: every sequence above decidedSeq was handed
  to a ticket that is still undecided (drains go lowest first), so fewer pending entries than
  sequences above decidedSeq means some queued tickets left the pending set (keys deleted,
  partial loss). The caller puts them back before deciding, so no later arrival goes first.

  Input:
    KEYS[1] pending  zset ticketId -> arrival sequence
    KEYS[2] meta     the mirror (includes/coupon-mirror.lua)
    KEYS[3] seq      arrival counter
    ARGV[1] batch size
    ARGV[2] ticket key prefix

  Output: flat list { mirror, decidedSeq, issued, outOfLine, ticketId, seq, userId, ... } in arrival order.
    mirror      'missing' (no meta), 'stale' (flagged for healing) or 'ok'
    decidedSeq  highest arrival sequence the mirror knows decided ('0' if none)
    issued      issued count the mirror knows ('0' if none)
    outOfLine   how many sequences above decidedSeq have no pending entry (0 when none)
    userId      '' when the ticket hash is gone
]]
--@include coupon-mirror

local mirror, decidedSeq, issued = readMirror(KEYS[2])
local outOfLine = tonumber(redis.call('GET', KEYS[3]) or '0') - tonumber(decidedSeq) - redis.call('ZCARD', KEYS[1])
if outOfLine < 0 then outOfLine = 0 end
local out = { mirror, decidedSeq, issued, tostring(outOfLine) }

local entries = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local ticketId = entries[i]
  out[#out + 1] = ticketId
  out[#out + 1] = entries[i + 1]
  out[#out + 1] = redis.call('HGET', ARGV[2] .. ticketId, 'user') or ''
end
return out
