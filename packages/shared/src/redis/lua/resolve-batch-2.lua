--[[
  Records the outcome of a batch that Postgres has committed: tickets become final, leave
  the pending set, and the coupon's mirror of Postgres (issued, sold out, and the high-water
  mark decidedSeq that tells a Redis gone back in time) advances. Idempotent: replaying the
  same outcomes (a worker that dies after the commit) changes nothing.

  Input:
    KEYS[1] pending  zset
    KEYS[2] meta     hash total, issued, soldOut, decidedSeq (advanced only if present)

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
local known = redis.call('HGET', metaKey, 'issued')
if known then
  if tonumber(known) < issuedBefore or tonumber(redis.call('HGET', metaKey, 'decidedSeq') or '0') < decidedSeqBefore then
    -- The mirror did not know what Postgres had decided before this batch: Redis went back in
    -- time (or a resolve was lost) while the batch ran. Advancing it now would hide the gap from
    -- every later check; flag it instead, so no replica admits on it and the next drain heals it.
    redis.call('HSET', metaKey, 'stale', '1')
  else
    -- Issued and decidedSeq only grow; a late replay must not move the mirror back.
    if issued > tonumber(known) then
      redis.call('HSET', metaKey, 'issued', issued, 'total', total)
    end
    if decidedSeq > tonumber(redis.call('HGET', metaKey, 'decidedSeq') or '0') then
      redis.call('HSET', metaKey, 'decidedSeq', decidedSeq)
    end
    if issued >= total then
      redis.call('HSET', metaKey, 'soldOut', '1')
    end
  end
end
return resolved
