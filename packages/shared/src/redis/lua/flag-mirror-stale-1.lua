--[[
  Flags the coupon's mirror stale: the heal's first step, before it rewrites the dedupe and the
  counters, so no API admits against a half-healed state (admit-4.lua refuses a stale mirror,
  read-batch-3.lua reports it). Only copy-mirror-1.lua removes the flag.

  Input:
    KEYS[1] meta  the mirror (includes/coupon-mirror.lua)

  Output: 1.
]]
--@include coupon-mirror

flagMirrorStale(KEYS[1])
return 1
