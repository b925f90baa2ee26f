import { setTimeout as delay } from 'node:timers/promises';
import type { Candidate } from '@coupons/shared/domain';
import type { CouponKeys } from '@coupons/shared/redis';
import { rebuildFastPathIfMissing } from '../fast-path/rebuild-fast-path.ts';
import type { CouponLease } from '../lock/coupon-lock.ts';
import type { WorkerDeps } from '../worker-deps.ts';
import { FencedOutError, recordBatch, type RecordedBatch } from './record-batch.ts';

function parseCandidates(flat: string[]): Candidate[] {
  const candidates: Candidate[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    candidates.push({ ticketId: flat[i]!, seq: Number(flat[i + 1]), userId: flat[i + 2]! });
  }
  return candidates;
}

/** The outcomes as resolve-batch-2.lua takes them: ticketId, status, reason, walletId|issuedAt|userId|coupon. */
function outcomeArgs(batch: RecordedBatch, couponCode: string): string[] {
  const args: string[] = [];
  for (const decision of batch.decisions) {
    const reason = decision.status === 'rejected' ? (decision.reason ?? '') : '';
    const wallet =
      decision.status === 'issued'
        ? `${decision.ticketId}|${batch.issuedAt.get(decision.ticketId) ?? Date.now()}|${decision.userId}|${couponCode}`
        : '';
    args.push(decision.ticketId, decision.status, reason, wallet);
  }
  return args;
}

/** Fault injection for tests and chaos runs: a pause at a chosen point of the batch, announced in the log. */
async function injectFault(deps: WorkerDeps, ms: number, where: string, couponCode: string, fence: number): Promise<void> {
  if (ms <= 0) return;
  deps.log.warn({ coupon: couponCode, fence, ms }, `fault injection: pausing ${where}`);
  await delay(ms);
}

/**
 * Decides a coupon's pending tickets, lowest arrival sequence first, one batch (one Postgres
 * transaction) at a time, while this worker holds the coupon lock. Because every batch takes
 * the *oldest* pending tickets, whichever job triggered the drain, the order in which BullMQ
 * hands out jobs does not matter: first come is first served across any number of workers.
 *
 * Stops when nothing is pending, the lease runs short or is lost, or the worker is stopping
 * (the current batch always finishes). Returns how many tickets it decided.
 */
export async function drainCoupon(
  deps: WorkerDeps,
  couponCode: string,
  keys: CouponKeys,
  lease: CouponLease,
  isStopping: () => boolean,
): Promise<number> {
  const { config, redis, db, log } = deps;
  let decided = 0;
  while (!isStopping() && lease.canStartBatch()) {
    await rebuildFastPathIfMissing(deps, couponCode, keys);
    const candidates = parseCandidates(await redis.readDecisionBatch(keys.pending, config.BATCH_SIZE, keys.ticketPrefix));
    if (candidates.length === 0) break;
    await injectFault(deps, config.FAULT_DELAY_BEFORE_COMMIT_MS, 'before commit', couponCode, lease.fence);

    let batch: RecordedBatch;
    try {
      batch = await recordBatch(db, couponCode, lease.fence, candidates);
    } catch (error) {
      if (!(error instanceof FencedOutError)) throw error;
      if (await lease.stillHeld()) {
        // We hold the lock, yet Postgres has seen a newer token: Redis lost its counter.
        // Raise it past Postgres's; the next grant writes again.
        await redis.raiseFenceFloor(keys.fence, error.storedFence);
        log.warn({ coupon: couponCode, fence: lease.fence, storedFence: error.storedFence }, 'fencing counter was behind Postgres: raised');
      } else {
        log.warn({ coupon: couponCode, fence: lease.fence, storedFence: error.storedFence }, 'fenced out: lease expired under us, batch not written');
      }
      return decided;
    }

    await injectFault(deps, config.FAULT_DELAY_AFTER_COMMIT_MS, 'after commit', couponCode, lease.fence);
    // Postgres has committed: now, and only now, tickets become final.
    await redis.resolveDecisionBatch(
      keys.pending, keys.meta,
      keys.ticketPrefix, config.TICKET_TTL_SECONDS, batch.issuedQuantity, batch.totalQuantity,
      ...outcomeArgs(batch, couponCode),
    );
    decided += candidates.length;
    log.debug({ coupon: couponCode, size: candidates.length, issued: batch.issuedQuantity, fence: lease.fence }, 'batch decided');
  }
  return decided;
}
