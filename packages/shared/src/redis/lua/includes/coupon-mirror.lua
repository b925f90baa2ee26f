--[[
  The coupon's mirror of Postgres (the `meta` hash), laid out and written here and nowhere else
  (TypeScript reads it through read-mirror-1.lua and coupon-mirror.ts, and heals it through
  copy-mirror-1.lua; only test fixtures write it by hand). One hash per coupon, in its slot:
    total       the limit (coupon.total_quantity)
    issued      coupons issued (coupon.issued_quantity); the mirror exists when this field does
    decidedSeq  the highest arrival sequence Postgres has decided (coupon.decided_seq): the
                high-water mark that tells a Redis which went back in time
    soldOut     '1' once Postgres has issued the limit (a heal writes '0' otherwise): then
                nobody asking later can win, so admission may answer SOLD_OUT itself
    stale       '1' while the mirror is known to miss what Postgres decided: nobody admits or
                decides on it until a heal copies Postgres and removes the flag
    run         the operator's run state (coupon.paused_at / closed_at): 'active', 'paused' or
                'closed'; admission refuses paused and closed coupons (absent: 'active', a
                mirror written before run states existed)
    runVersion  coupon.state_version of that run state: a run state is written only over a
                lower version, so a heal that read Postgres before a pause cannot undo the pause
  Writers: a resolve advances it (advanceMirror), a heal copies it whole (copyMirror), anyone who
  catches it behind flags it (flagMirrorStale), and an operator's pause/resume/close writes the
  run state (writeRunState). Only the heal makes a whole mirror: a missing one means the fast path
  was lost, and only the heal, which rebuilds the dedupe first, brings it back. A run state written
  onto a missing mirror leaves it missing (no soldOut, no issued) but remembered for the heal.
]]

--[[
  The run state, written only when `runVersion` is above the stored one (a number; absent: -1, so
  version 0 is written onto a mirror that never had one). Returns 1 when written, 0 when the mirror
  already holds this version or a later one (a retried call, or a heal that raced and lost).
]]
local function writeRunState(metaKey, run, runVersion)
  local stored = tonumber(redis.call('HGET', metaKey, 'runVersion') or '-1')
  if tonumber(runVersion) <= stored then return 0 end
  redis.call('HSET', metaKey, 'run', run, 'runVersion', runVersion)
  return 1
end

-- Flags the mirror behind Postgres; only a heal (copyMirror) clears it.
local function flagMirrorStale(metaKey)
  redis.call('HSET', metaKey, 'stale', '1')
end

--[[
  After a committed batch: Postgres's figures after it (issued, total, decidedSeq) and before it
  (issuedBefore, decidedSeqBefore), all numbers. A missing mirror is left missing (see above).
]]
local function advanceMirror(metaKey, issued, total, decidedSeq, issuedBefore, decidedSeqBefore)
  local known = redis.call('HGET', metaKey, 'issued')
  if not known then return end
  if tonumber(known) < issuedBefore or tonumber(redis.call('HGET', metaKey, 'decidedSeq') or '0') < decidedSeqBefore then
    -- The mirror did not know what Postgres had decided before this batch: Redis went back in
    -- time (or a resolve was lost) while the batch ran. Advancing it now would hide the gap from
    -- every later check; flag it instead, so no replica admits on it and the next drain heals it.
    flagMirrorStale(metaKey)
    return
  end
  -- Issued and decidedSeq only grow; a late replay must not move the mirror back.
  if issued > tonumber(known) then
    redis.call('HSET', metaKey, 'issued', issued, 'total', total)
  end
  if decidedSeq > tonumber(redis.call('HGET', metaKey, 'decidedSeq') or '0') then
    redis.call('HSET', metaKey, 'decidedSeq', decidedSeq)
  end
  -- Only when Postgres has used the last coupon: a SOLD_OUT answer must always be true.
  if issued >= total then
    redis.call('HSET', metaKey, 'soldOut', '1')
  end
end

--[[
  The heal's last step: Postgres's figures copied as they are (overwriting, never only raising:
  Postgres is the truth, and a mirror ahead of it would be as wrong as one behind), and the stale
  flag removed in the same step, so a mirror without the flag is always a whole copy. The figures
  are Postgres's as decimal strings, stored unchanged (decidedSeq is a bigint: never through a
  Lua number). The run state is the exception: written only over an older version (writeRunState).
  A mirror this makes whole (it had no soldOut) loses any lifetime a run state written onto the
  missing mirror gave it: a live coupon's mirror lives until the coupon is retired. Returns the
  soldOut written.
]]
local function copyMirror(metaKey, total, issued, decidedSeq, run, runVersion)
  local soldOut = '0'
  if tonumber(issued) >= tonumber(total) then soldOut = '1' end
  local wasWhole = redis.call('HEXISTS', metaKey, 'soldOut') == 1
  redis.call('HSET', metaKey, 'total', total, 'issued', issued, 'soldOut', soldOut, 'decidedSeq', decidedSeq)
  writeRunState(metaKey, run, runVersion)
  redis.call('HDEL', metaKey, 'stale')
  if not wasWhole then redis.call('PERSIST', metaKey) end
  return soldOut
end

--[[
  The mirror as a decision reads it: state ('missing' without issued, 'stale' when flagged, else
  'ok'), decidedSeq and issued as stored ('0' when absent), and the run state's version ('-1'
  when absent: the reconciler writes Postgres's run state over a lower one).
]]
local function readMirror(metaKey)
  local meta = redis.call('HMGET', metaKey, 'issued', 'decidedSeq', 'stale', 'runVersion')
  local state = 'ok'
  if not meta[1] then state = 'missing' elseif meta[3] == '1' then state = 'stale' end
  return state, meta[2] or '0', meta[1] or '0', meta[4] or '-1'
end

--[[
  The mirror as admission reads it: state ('missing' without soldOut, 'stale' when flagged, else
  'ok'), whether Postgres has said the coupon is sold out, the run state ('active', 'paused'
  or 'closed') and its version (0 when absent: a mirror from before run states). Every writer writes soldOut with issued (or onto a mirror that has both), so its
  presence says the same as issued's.
]]
local function mirrorForAdmission(metaKey)
  local meta = redis.call('HMGET', metaKey, 'soldOut', 'stale', 'run', 'runVersion')
  if not meta[1] then return 'missing', false, 'active', 0 end
  if meta[2] == '1' then return 'stale', false, 'active', 0 end
  return 'ok', meta[1] == '1', meta[3] or 'active', tonumber(meta[4] or '0')
end
