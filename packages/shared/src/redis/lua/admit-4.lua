--[[
  Admits one issue request for one coupon, atomically: opening window, dedupe, readiness of
  the fast path, sold-out fast path, backlog bound, arrival sequence, ticket. Nothing else can
  interleave, so the arrival sequence is the order in which requests were answered.

  The window is judged by Redis's clock (TIME), one clock for every API replica: replicas
  whose clocks are skewed still open and close the event at the same moment.

  The fast path is trusted only when its mirror of Postgres is whole and not behind: a Redis
  that lost its state or went back in time (an everysec crash, a replica promoted) could tell
  a winner to queue again. Then the caller answers from Postgres or asks for a heal.

  The operator's run state lives in the same mirror (written by set-run-state-1.lua and by the
  heal): a pause or close is seen by the very next admission on any replica, atomically with
  everything else here. A user who already holds a ticket is still shown it (that admits nobody).

  Input:
    KEYS[1] users    hash userId -> ticketId
    KEYS[2] pending  zset ticketId -> arrival sequence (admitted, not decided)
    KEYS[3] seq      arrival counter
    KEYS[4] meta     the mirror (includes/coupon-mirror.lua)

    ARGV[1] userId
    ARGV[2] ticketId for a new ticket
    ARGV[3] backlog bound (pending tickets)
    ARGV[4] ticket key prefix (same hash tag as KEYS)
    ARGV[5] window start, ms since epoch
    ARGV[6] window end, ms since epoch, or -1 for none
    ARGV[7] the highest arrival sequence Postgres is known to have decided (a lower bound)
    ARGV[8] 1 to replace the user's expired ticket (the caller checked Postgres), else 0
    ARGV[9] the lowest run-state version Postgres is known to hold (coupon.state_version): a mirror
            below it lost an operator's pause or close (Redis went back in time) and is healed first

  Output: { outcome, ticketId, detail, position, seq, now }
    outcome  1  admitted: a new queued ticket; the caller enqueues its job
             2  this user already has a ticket for this coupon (detail is its status)
             3  this user's ticket expired (ticketId is it): the caller asks Postgres
            -1  sold out (known from Postgres: nobody asking later can win)
            -2  overloaded (position holds the backlog)
            -3  fast path not ready (detail: 'missing', 'stale' or 'behind')
            -4  not open (detail: 'early' or 'ended': outside the window; 'closed': closed by an operator)
            -5  paused by an operator
    position requests ahead of this ticket while queued, else -1
    now      Redis's clock, ms (the ticket's createdAt)
]]
--@include ticket-hash
--@include coupon-mirror

local usersKey, pendingKey, seqKey, metaKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local userId, ticketId, ticketPrefix = ARGV[1], ARGV[2], ARGV[4]

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if now < tonumber(ARGV[5]) then return { -4, '', 'early', -1, 0, now } end
local endsAt = tonumber(ARGV[6])
if endsAt >= 0 and now >= endsAt then return { -4, '', 'ended', -1, 0, now } end

local existing = redis.call('HGET', usersKey, userId)
if existing then
  local status = redis.call('HGET', ticketPrefix .. existing, 'status')
  if status then
    local rank = redis.call('ZRANK', pendingKey, existing)
    return { 2, existing, status, rank or -1, 0, now }
  end
  if ARGV[8] ~= '1' then return { 3, existing, '', -1, 0, now } end
end

local mirror, soldOut, run, runVersion = mirrorForAdmission(metaKey)
if mirror ~= 'ok' then return { -3, '', mirror, -1, 0, now } end
-- A pause or close Postgres holds but the mirror does not (a Redis restarted from an older AOF, a
-- replica promoted before it had the write): never admit on it; the heal copies the state back.
if runVersion < tonumber(ARGV[9] or '0') then
  flagMirrorStale(metaKey)
  return { -3, '', 'behind', -1, 0, now }
end
-- Every arrival sequence is handed out here before it can be decided, so a healthy counter is
-- never below what Postgres has decided. Below it, Redis went back in time past admissions
-- that were decided since, and its dedupe may not know those winners: flag it, so every replica
-- refuses until a worker has healed it from Postgres.
if tonumber(redis.call('GET', seqKey) or '0') < tonumber(ARGV[7]) then
  flagMirrorStale(metaKey)
  return { -3, '', 'behind', -1, 0, now }
end

-- Closed is final and says more than sold out; sold out says more than paused (waiting won't help).
if run == 'closed' then return { -4, '', 'closed', -1, 0, now } end
if soldOut then
  return { -1, '', '', -1, 0, now }
end
if run == 'paused' then return { -5, '', 'paused', -1, 0, now } end

local backlog = redis.call('ZCARD', pendingKey)
if backlog >= tonumber(ARGV[3]) then
  return { -2, '', '', backlog, 0, now }
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
writeQueuedTicket(ticketPrefix .. ticketId, userId, seq, now)
return { 1, ticketId, 'queued', backlog, seq, now }
