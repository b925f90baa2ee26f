--[[
  Records the outcome of a batch that Postgres has committed: tickets become final, leave
  the pending set, and the coupon's mirror of Postgres (issued, sold out, and the high-water
  mark decidedSeq that tells a Redis gone back in time) advances. Idempotent: replaying the
  same outcomes (a worker that dies after the commit) changes nothing.

  Input:
    KEYS[1] pending  zset
    KEYS[2] meta     the mirror (includes/coupon-mirror.lua), advanced only if present

    ARGV[1] ticket key prefix
    ARGV[2] ticket TTL, seconds
    ARGV[3] issued quantity after the commit (from Postgres)
    ARGV[4] total quantity
    ARGV[5] highest arrival sequence Postgres has decided after the commit
    ARGV[6] issued quantity before the batch (Postgres's, under the batch's row lock)
    ARGV[7] highest decided arrival sequence before the batch
    ARGV[8..] groups of 4: ticketId, status, reason ('' if none),
              walletId|issuedAt|userId for a winner ('' if none; the wallet id is the ticket id)

  Output: number of tickets that became final now.
]]
--@include ticket-hash
--@include coupon-mirror

local pendingKey, metaKey = KEYS[1], KEYS[2]
local ticketPrefix, ttl = ARGV[1], tonumber(ARGV[2])
local issued, total, decidedSeq = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local issuedBefore, decidedSeqBefore = tonumber(ARGV[6]), tonumber(ARGV[7])

local resolved = 0
for i = 8, #ARGV, 4 do
  local ticketId, status, reason, wallet = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = ticketPrefix .. ticketId
  redis.call('ZREM', pendingKey, ticketId)
  local parts = {}
  for part in string.gmatch(wallet, '[^|]+') do parts[#parts + 1] = part end
  if isWholeTicket(key) then
    if markDecided(key, status, reason, parts[2]) then resolved = resolved + 1 end
    redis.call('EXPIRE', key, ttl)
  elseif status == 'issued' and parts[3] then
    -- Redis lost this winner's ticket after the commit (a flush, an everysec crash): write it
    -- whole again, so the winner can still poll it. Never a partial hash.
    writeIssuedTicket(key, parts[3], parts[2], ttl)
    resolved = resolved + 1
  end
end

-- The mirror is only advanced while it exists: a missing meta means the fast path was lost,
-- and the next batch rebuilds all of it (dedupe included) from Postgres.
advanceMirror(metaKey, issued, total, decidedSeq, issuedBefore, decidedSeqBefore)
return resolved
