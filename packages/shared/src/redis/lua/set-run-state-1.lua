--[[
  An operator's pause, resume or close, written into the coupon's mirror (admit-4.lua refuses
  paused and closed coupons from the next admission on, on every replica). Postgres is written
  first, in the caller's transaction with the audit row; this follows it.

  The run state is written only over an older version (includes/coupon-mirror.lua,
  writeRunState), so a retried call is a no-op and a heal that read Postgres earlier cannot undo
  it. A missing mirror gets the run state alone (it stays missing for admission until a heal
  makes it whole, and the heal cannot lower it), with the retention as its lifetime so the run
  state of a coupon whose state was retired does not stay forever; the heal that makes the mirror
  whole removes that lifetime.

  Input:
    KEYS[1] meta  the mirror (includes/coupon-mirror.lua)
    ARGV[1] run state: 'active', 'paused' or 'closed'
    ARGV[2] its version (coupon.state_version)
    ARGV[3] lifetime in seconds of a run state written onto a missing mirror

  Output: 1 written, 0 the mirror already had this version or a later one.
]]
--@include coupon-mirror

local existed = redis.call('EXISTS', KEYS[1]) == 1
local written = writeRunState(KEYS[1], ARGV[1], ARGV[2])
if written == 1 and not existed then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return written
