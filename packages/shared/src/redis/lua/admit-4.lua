--[[
  Admits one issue request for one coupon, atomically: dedupe, sold-out fast path,
  backlog bound, arrival sequence, ticket. Nothing else can interleave, so the arrival
  sequence is the order in which requests were answered.

  Input:
    KEYS[1] users    hash userId -> ticketId
    KEYS[2] pending  zset ticketId -> arrival sequence (admitted, not decided)
    KEYS[3] seq      arrival counter
    KEYS[4] meta     hash (soldOut)

    ARGV[1] userId
    ARGV[2] ticketId for a new ticket
    ARGV[3] coupon code
    ARGV[4] now, ms since epoch
    ARGV[5] backlog bound (pending tickets)
    ARGV[6] ticket key prefix (same hash tag as KEYS)

  Output: { outcome, ticketId, status, position, seq }
    outcome  1  admitted: a new queued ticket; the caller enqueues its job
             2  this user already has a ticket for this coupon (status is its state)
            -1  sold out (known from Postgres: nobody asking later can win)
            -2  overloaded (position holds the backlog)
    position requests ahead of this ticket while queued, else -1
]]
local usersKey, pendingKey, seqKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local userId, ticketId, couponCode, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ticketPrefix = ARGV[6]

local existing = redis.call('HGET', usersKey, userId)
if existing then
  local status = redis.call('HGET', ticketPrefix .. existing, 'status')
  if status then
    local rank = redis.call('ZRANK', pendingKey, existing)
    return { 2, existing, status, rank or -1, 0 }
  end
  -- The ticket expired: admit anew; the decision still refuses a second coupon.
end

if redis.call('HGET', metaKey, 'soldOut') == '1' then
  return { -1, '', '', -1, 0 }
end

local backlog = redis.call('ZCARD', pendingKey)
if backlog >= tonumber(ARGV[5]) then
  return { -2, '', '', backlog, 0 }
end

local seq = redis.call('INCR', seqKey)
if seq == 1 and backlog > 0 then
  -- The counter was lost while tickets wait: continue after the last one so order holds.
  local last = redis.call('ZRANGE', pendingKey, -1, -1, 'WITHSCORES')
  seq = tonumber(last[2]) + 1
  redis.call('SET', seqKey, seq)
end

redis.call('HSET', usersKey, userId, ticketId)
redis.call('ZADD', pendingKey, seq, ticketId)
redis.call('HSET', ticketPrefix .. ticketId,
  'coupon', couponCode, 'user', userId, 'seq', seq, 'status', 'queued', 'createdAt', now)
return { 1, ticketId, 'queued', backlog, seq }
