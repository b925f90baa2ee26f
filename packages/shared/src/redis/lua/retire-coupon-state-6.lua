--[[
  Gives a finished coupon's state a lifetime, so Redis memory returns to its baseline after an
  event: once nothing is pending (sold out with every ticket final, or the event ended), the
  dedupe, pending set, arrival, fencing and enqueued counters and the mirror expire after the retention.
  Ticket hashes already expire on their own once final. Later requests are answered from
  Postgres (SOLD_OUT, or the user's wallet), which is the truth.

  A key that already has a lifetime keeps it: calling this again never extends the retention.

  Input:
    KEYS[1] users    KEYS[2] pending    KEYS[3] seq    KEYS[4] meta    KEYS[5] fence    KEYS[6] enqueued
    ARGV[1] retention, seconds

  Output: 1 when the state now has a lifetime, 0 while tickets are still pending.
]]
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
for i = 1, #KEYS do
  if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
end
return 1
