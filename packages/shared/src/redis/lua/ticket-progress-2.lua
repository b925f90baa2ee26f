--[[
  Where a job's ticket stands, repairing its place in line on the way: a queued ticket that
  fell out of the pending set (keys deleted, partial data loss) is put back with its original
  arrival sequence before the next drain, so no later arrival is decided before it.

  Input:
    KEYS[1] pending  zset
    KEYS[2] ticket   hash
    ARGV[1] ticketId

  Output: the ticket's status ('queued', 'issued', 'rejected'); 'orphan' when its hash is gone
          but its id still waits in the pending set (a drain must decide it away); 'gone' when
          neither is left.
]]
local status = redis.call('HGET', KEYS[2], 'status')
if not status then
  if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'orphan' end
  return 'gone'
end
if status == 'queued' and not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local seq = redis.call('HGET', KEYS[2], 'seq')
  if seq then redis.call('ZADD', KEYS[1], seq, ARGV[1]) end
end
return status
