--[[
  Makes wallets their users' tickets again (the heal from Postgres, one chunk of wallets): the
  dedupe points each user at the wallet's ticket (its id is the wallet id), and a ticket hash that
  is missing or partial is written whole as issued. A ticket that is whole is left as it is.

  Input:
    KEYS[1] users  hash userId -> ticketId
    ARGV[1] ticket key prefix
    ARGV[2] ticket TTL, seconds
    ARGV[3..] groups of 3: walletId, userId, issuedAt (ms)

  Output: how many ticket hashes were rewritten.
]]
--@include ticket-hash

local rewritten = 0
for i = 3, #ARGV, 3 do
  local walletId, userId, issuedAt = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('HSET', KEYS[1], userId, walletId)
  local key = ARGV[1] .. walletId
  if not isWholeTicket(key) then
    writeIssuedTicket(key, userId, issuedAt, ARGV[2])
    rewritten = rewritten + 1
  end
end
return rewritten
