--[[
  Copies Postgres's figures into the coupon's mirror and clears its stale flag, in one step: the
  heal's last step, once the dedupe and counters agree with Postgres, so a mirror present without
  the flag always means a complete heal. Overwrites whatever the mirror held (Postgres is the
  truth, read under the coupon lock).

  Input:
    KEYS[1] meta  the mirror (includes/coupon-mirror.lua)
    ARGV[1] total quantity
    ARGV[2] issued quantity
    ARGV[3] highest arrival sequence Postgres has decided (bigint, decimal)
    ARGV[4] run state: 'active', 'paused' or 'closed' (coupon.paused_at / closed_at)
    ARGV[5] its version (coupon.state_version): written only over an older one

  Output: the soldOut flag written, '1' or '0'.
]]
--@include coupon-mirror

return copyMirror(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
