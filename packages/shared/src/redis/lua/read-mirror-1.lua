--[[
  Reads the coupon's mirror of Postgres alone, as read-batch-3.lua reads it with a batch: for the
  worker's checks outside a drain (reconciler, reconnect), which compare it with Postgres's
  high-water mark. A script rather than an HMGET so that the layout and what counts as missing
  or stale stay in includes/coupon-mirror.lua. Read-only.

  Input:
    KEYS[1] meta  the mirror (includes/coupon-mirror.lua)

  Output: { mirror, decidedSeq, issued, runVersion }, the first three as in read-batch-3.lua's reply
    mirror      'missing' (no meta), 'stale' (flagged for healing) or 'ok'
    decidedSeq  highest arrival sequence the mirror knows decided ('0' if none)
    issued      issued count the mirror knows ('0' if none)
    runVersion  version of the operator's run state it holds ('-1' if none)
]]
--@include coupon-mirror

return { readMirror(KEYS[1]) }
