import { findCouponByCode, type CouponRow } from '@coupons/shared/db';
import { runStateOf, type CouponKeys } from '@coupons/shared/redis';
import { mirrorIsBehind } from '../issuance/issue-batch.ts';
import { walletsOfCoupon } from '../issuance/wallets.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

const CHUNK = 1_000;

/** Why a heal ran: the mirror was missing, flagged stale (by an API that saw a counter behind Postgres), or found behind under the lock. */
export type HealReason = 'missing' | 'stale' | 'behind';

/** A coupon whose event is over: sold out, past its end, or closed by an operator. (This only decides when its Redis state gets a lifetime; admission judges the window by Redis's clock.) */
export function isFinished(coupon: Pick<CouponRow, 'issued_quantity' | 'total_quantity' | 'ends_at' | 'closed_at'>, now: Date): boolean {
  return coupon.issued_quantity >= coupon.total_quantity || (coupon.ends_at !== null && coupon.ends_at <= now) || coupon.closed_at !== null;
}

/**
 * Makes the coupon's Redis state agree with Postgres, the truth. Call it holding the coupon lock.
 *
 * Redis can lose state (a restart without persistence, keys deleted) or go back in time (an
 * `everysec` AOF's last second after a machine crash, an asynchronous replica promoted by
 * Sentinel): then it holds a consistent but *older* picture. Postgres stays exact either way
 * (fencing, constraints); what must be healed is what users see and what the next decision
 * reads:
 *
 * 1. the mirror is flagged stale first, so no API admits against half-healed dedupe;
 * 2. the fencing counter is raised to the token Postgres last accepted (the next grant is above
 *    it) and the arrival counter to the highest sequence Postgres decided (no number twice);
 * 3. every wallet is the user's ticket again: the dedupe points at it (a resubmission answers
 *    200 with it, never a second ticket) and a lost ticket hash is rewritten whole, `issued`;
 * 4. the mirror (total, issued, soldOut, decidedSeq, the operator's run state) is copied from Postgres and the flag
 *    cleared, last and in one step (copy-mirror-1.lua): its presence without the flag means the
 *    heal is complete.
 *
 * Every write to the mirror goes through the coupon scripts (its layout: the shared Lua include
 * coupon-mirror.lua), so the heal and the resolve cannot disagree on what it holds.
 *
 * Tickets admitted in the lost window are gone with it; nothing here can bring them back (they
 * are counted by `pnpm chaos`). A finished coupon's state gets its retention lifetime again.
 * Returns false when Postgres does not know the coupon.
 */
export async function healFromPostgres(deps: WorkerDeps, couponCode: string, keys: CouponKeys, why: HealReason): Promise<boolean> {
  const { db, config, log } = deps;
  const coupon = await findCouponByCode(db, couponCode);
  if (!coupon) return false;
  const scripts = scriptsOf(deps);
  const startedAt = Date.now();
  // A missing mirror already keeps admissions out; flagging it would create a partial one.
  if (why !== 'missing') await scripts.flagMirrorStale(couponCode);
  await raiseCounters(deps, couponCode, keys, coupon);

  const wallets = await walletsOfCoupon(db, coupon.id);
  for (let offset = 0; offset < wallets.length; offset += CHUNK) {
    const chunk = wallets.slice(offset, offset + CHUNK).map((w) => ({ walletId: w.id, userId: w.user_id, issuedAtMs: w.issued_at.getTime() }));
    await scripts.restoreWalletTickets(couponCode, config.TICKET_TTL_SECONDS, chunk);
  }

  // The run state (paused, closed) too: a Redis that forgot a pause gets it back before it admits again.
  await scripts.copyMirror(couponCode, {
    total: coupon.total_quantity,
    issued: coupon.issued_quantity,
    decidedSeq: coupon.decided_seq,
    run: runStateOf(coupon),
    runVersion: coupon.state_version,
  });
  if (isFinished(coupon, new Date())) await retireIfDone(deps, couponCode);
  log.info({ coupon: couponCode, why, wallets: wallets.length, ms: Date.now() - startedAt }, 'fast-path state rebuilt from Postgres');
  return true;
}

/**
 * The fencing counter goes to at least the token Postgres last accepted (the next grant is above
 * it); the arrival counter to at least the highest sequence Postgres decided *and* the highest
 * still pending, so a new arrival is never given a place ahead of someone already waiting.
 * Admissions are refused meanwhile (mirror missing or flagged), so nothing joins the line.
 */
async function raiseCounters(deps: WorkerDeps, couponCode: string, keys: CouponKeys, coupon: Pick<CouponRow, 'lock_fence' | 'decided_seq'>): Promise<void> {
  const scripts = scriptsOf(deps);
  const [, lastPending] = await deps.redis.zrange(keys.pending, -1, -1, 'WITHSCORES');
  const seqFloor = BigInt(lastPending ?? 0) > BigInt(coupon.decided_seq) ? lastPending! : coupon.decided_seq;
  await Promise.all([scripts.raiseFence(couponCode, coupon.lock_fence), scripts.raiseSeq(couponCode, seqFloor)]);
}

/** Gives a finished coupon's Redis state its retention lifetime, once nothing is pending (retire-coupon-state-5.lua). */
export function retireIfDone(deps: WorkerDeps, couponCode: string): Promise<number> {
  return scriptsOf(deps).retire(couponCode, deps.config.EVENT_RETENTION_SECONDS);
}

/**
 * A finished coupon whose Redis state has expired after its retention: nothing to check, and
 * taking its lock would write its fencing counter back (a key with no lifetime) for nothing.
 */
export async function isRetired(deps: WorkerDeps, coupon: CouponRow, keys: CouponKeys): Promise<boolean> {
  return isFinished(coupon, new Date()) && (await deps.redis.exists(keys.meta)) === 0;
}

/**
 * The check the reconciler and a reconnect run, holding the coupon lock: counters raised to
 * Postgres's floors, and a heal when the mirror is missing, flagged, or behind Postgres's
 * high-water mark. A finished coupon whose mirror is gone is left alone: its state expired
 * after the retention on purpose, and requests for it are answered from Postgres.
 */
export async function healIfBehind(deps: WorkerDeps, couponCode: string, keys: CouponKeys): Promise<boolean> {
  const coupon = await findCouponByCode(deps.db, couponCode);
  if (!coupon) return false;
  const mirror = await scriptsOf(deps).readMirror(couponCode);
  if (mirror.state === 'missing') {
    if (isFinished(coupon, new Date())) return false;
    return healFromPostgres(deps, couponCode, keys, 'missing');
  }
  if (mirror.state === 'stale') return healFromPostgres(deps, couponCode, keys, 'stale');
  // The same comparison a batch makes under the row lock (issue-batch.ts), here on the row as read.
  if (mirrorIsBehind(mirror, { totalQuantity: coupon.total_quantity, issuedQuantity: coupon.issued_quantity, decidedSeq: coupon.decided_seq })) {
    return healFromPostgres(deps, couponCode, keys, 'behind');
  }
  await raiseCounters(deps, couponCode, keys, coupon);
  // An operator's pause, resume or close that reached Postgres but not Redis (its call answered
  // 503): written here, only over an older version, so a later one is never undone.
  if (mirror.runVersion < coupon.state_version) {
    await scriptsOf(deps).setRunState(couponCode, runStateOf(coupon), coupon.state_version, deps.config.EVENT_RETENTION_SECONDS);
  }
  if (isFinished(coupon, new Date())) await retireIfDone(deps, couponCode);
  return false;
}
