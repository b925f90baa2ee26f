import type { CouponKeys } from '@coupons/shared/redis';
import { healFromPostgres, retireIfDone } from '../fast-path/heal-from-postgres.ts';
import { FencedOutError, issueBatch, RedisBehindError, type IssuedBatch } from '../issuance/issue-batch.ts';
import type { CouponLease } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';
import { parseBatchRead } from './batch-read.ts';
import { isStatementTimeout, type AdaptiveBatchSize } from './batch-size.ts';
import { publishDecisions } from './publish-decisions.ts';
import { restoreLine } from './restore-line.ts';

/** Heals in a row after which a drain gives up (the job retries): a heal that does not take means something else is wrong. */
const MAX_HEALS_PER_DRAIN = 3;

/** The outcomes as resolve-batch-2.lua takes them: ticketId, status, reason, walletId|issuedAt|userId. */
function outcomeArgs(batch: IssuedBatch): string[] {
  const args: string[] = [];
  for (const decision of batch.decisions) {
    const reason = decision.status === 'rejected' ? (decision.reason ?? '') : '';
    const wallet =
      decision.status === 'issued'
        ? `${decision.ticketId}|${batch.issuedAt.get(decision.ticketId) ?? Date.now()}|${decision.userId}`
        : '';
    args.push(decision.ticketId, decision.status, reason, wallet);
  }
  return args;
}

/**
 * Decides a coupon's pending tickets, lowest arrival sequence first, one batch (one Postgres
 * transaction) at a time, while this worker holds the coupon lock. Because every batch takes
 * the *oldest* pending tickets, whichever job triggered the drain, the order in which BullMQ
 * hands out jobs does not matter: first come is first served across any number of workers.
 *
 * Before each decision Redis's mirror is compared with Postgres's high-water mark (in the
 * batch's own transaction, see issueBatch): a Redis that lost or rolled back its state is
 * healed from Postgres first, so no decision is ever taken on an older picture.
 *
 * `deps.hooks` (none in production; fault-injection.ts installs them for tests and chaos runs)
 * run before each batch's transaction and between its commit and the resolve in Redis.
 *
 * Stops when nothing is pending, the lease runs short or is lost, or the worker is stopping
 * (the current batch always finishes). Returns how many tickets it decided.
 */
export async function drainCoupon(
  deps: WorkerDeps,
  couponCode: string,
  keys: CouponKeys,
  lease: CouponLease,
  batchSize: AdaptiveBatchSize,
  isStopping: () => boolean,
): Promise<number> {
  const { config, db, log, hooks } = deps;
  const scripts = scriptsOf(deps);
  let decided = 0;
  let heals = 0;
  let lineRestored = false;
  const heal = async (why: 'missing' | 'stale' | 'behind') => {
    heals += 1;
    if (heals > MAX_HEALS_PER_DRAIN) throw new Error(`coupon ${couponCode}: Redis still disagrees with Postgres after ${MAX_HEALS_PER_DRAIN} heals`);
    if (!(await healFromPostgres(deps, couponCode, keys, why))) throw new Error(`coupon ${couponCode} does not exist in Postgres`);
  };

  while (!isStopping() && lease.canStartBatch()) {
    const { mirror, outOfLine, candidates } = parseBatchRead(
      await scripts.readBatch(couponCode, batchSize.current),
    );
    if (mirror.state !== 'ok') {
      await heal(mirror.state);
      continue;
    }
    if (outOfLine > 0 && !lineRestored) {
      // Queued tickets fell out of the pending set: back in line first, or a later arrival would
      // be decided before them. Once per drain: a ticket whose hash is gone too cannot come back,
      // and the next batch moves decidedSeq past its number.
      lineRestored = true;
      const restored = await restoreLine(deps, couponCode, keys);
      log.warn({ coupon: couponCode, outOfLine, restored }, 'queued tickets had fallen out of line: put back before deciding');
      if (restored > 0) continue;
    }
    if (candidates.length === 0) break;
    await hooks?.beforeCommit?.({ couponCode, fence: lease.fence });

    let batch: IssuedBatch;
    try {
      batch = await issueBatch(db, couponCode, lease, candidates, mirror);
      batchSize.succeeded();
    } catch (error) {
      if (error instanceof RedisBehindError) {
        log.warn({ coupon: couponCode, mirror: error.mirror, postgres: error.postgres }, 'Redis is behind Postgres: healing before deciding');
        await heal('behind');
        continue;
      }
      if (isStatementTimeout(error)) {
        batchSize.timedOut();
        log.warn({ coupon: couponCode, size: candidates.length, next: batchSize.current }, 'batch hit the statement timeout: retrying smaller');
        continue;
      }
      if (!(error instanceof FencedOutError)) throw error;
      if (await lease.stillHeld()) {
        // We hold the lock, yet Postgres has seen a newer token (or ours, from another holder):
        // Redis lost or rolled back its counter. Raise it past Postgres's; the next grant writes.
        await scripts.raiseFence(couponCode, error.storedFence);
        log.warn({ coupon: couponCode, fence: lease.fence, storedFence: error.storedFence }, 'fencing counter was behind Postgres: raised');
      } else {
        log.warn({ coupon: couponCode, fence: lease.fence, storedFence: error.storedFence }, 'fenced out: lease expired under us, batch not written');
      }
      return decided;
    }

    const committedAtMs = Date.now();
    await hooks?.afterCommit?.({ couponCode, fence: lease.fence });
    // Postgres has committed: now, and only now, tickets become final. If Redis went back in
    // time while the batch ran, the resolve flags the mirror instead of advancing it.
    await scripts.resolve(couponCode, config.TICKET_TTL_SECONDS, {
      issued: batch.issuedQuantity,
      total: batch.totalQuantity,
      decidedSeq: batch.decidedSeq,
      issuedBefore: batch.before.issuedQuantity,
      decidedSeqBefore: batch.before.decidedSeq,
      outcomes: outcomeArgs(batch),
    });
    publishDecisions(deps, couponCode, batch, committedAtMs); // SSE: never awaited, never fails the batch
    if (batch.issuedQuantity >= batch.totalQuantity) await retireIfDone(deps, couponCode);
    decided += candidates.length;
    heals = 0;
    log.debug({ coupon: couponCode, size: candidates.length, issued: batch.issuedQuantity, fence: lease.fence }, 'batch decided');
  }
  return decided;
}
