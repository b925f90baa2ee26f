--[[
  The ticket hash, written here and nowhere else in Lua (TypeScript reads it through
  ticket-hash.ts). One hash per ticket, in its coupon's slot:
    user       the user's id
    status     queued | issued | rejected
    seq        the arrival sequence (while queued: restores its place in line; 0 when rebuilt)
    createdAt  ms, Redis's clock at admission (a rebuilt winner's ticket: its issue time)
    reason     SOLD_OUT | ALREADY_ISSUED, once rejected
    issuedAt   ms, once issued (the wallet id is the ticket id)
  A ticket counts as present only whole (with its user): readers skip a partial hash.
]]
local function writeQueuedTicket(key, user, seq, now)
  redis.call('HSET', key, 'user', user, 'seq', seq, 'status', 'queued', 'createdAt', now)
end

-- A winner's ticket written whole, when Redis lost it (a flush, a rollback) after the commit.
local function writeIssuedTicket(key, user, issuedAt, ttl)
  redis.call('HSET', key, 'user', user, 'seq', 0, 'status', 'issued', 'issuedAt', issuedAt, 'createdAt', issuedAt)
  redis.call('EXPIRE', key, ttl)
end

-- Marks a present ticket decided; returns whether its status changed.
local function markDecided(key, status, reason, issuedAt)
  if redis.call('HGET', key, 'status') == status then return false end
  local fields = { 'status', status }
  if reason ~= '' then fields[#fields + 1] = 'reason'; fields[#fields + 1] = reason end
  if issuedAt then fields[#fields + 1] = 'issuedAt'; fields[#fields + 1] = issuedAt end
  redis.call('HSET', key, unpack(fields))
  return true
end

local function isWholeTicket(key)
  return redis.call('HEXISTS', key, 'user') == 1
end
