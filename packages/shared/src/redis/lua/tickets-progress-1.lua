--[[
  Where a job's tickets stand, repairing their places in line on the way: a queued ticket that
  fell out of the pending set (keys deleted, partial data loss) is put back with its original
  arrival sequence before the next drain, so no later arrival is decided before it. One call
  for a whole batch job's tickets (a job carries many), one round trip.

  Input:
    KEYS[1] pending  zset
    ARGV[1] ticket key prefix
    ARGV[2..] ticket ids

  Output: one status per id, in order: 'queued', 'issued', 'rejected'; 'orphan' when its hash
          is gone but its id still waits in the pending set (a drain must decide it away);
          'gone' when neither is left.
]]
local statuses = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local ticket = ARGV[1] .. id
  local status = redis.call('HGET', ticket, 'status')
  if not status then
    status = redis.call('ZSCORE', KEYS[1], id) and 'orphan' or 'gone'
  elseif status == 'queued' and not redis.call('ZSCORE', KEYS[1], id) then
    local seq = redis.call('HGET', ticket, 'seq')
    if seq then redis.call('ZADD', KEYS[1], seq, id) end
  end
  statuses[#statuses + 1] = status
end
return statuses
