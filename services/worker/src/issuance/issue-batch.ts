import type { Kysely } from 'kysely';
import type { Database } from '@coupons/shared/db';
import { claimCouponForBatch, recordBatchProgress, type CouponHighWater } from './coupon-row.ts';
import { decideBatch, type Candidate, type Decision } from './decide-batch.ts';
import { findWalletsOfUsers, insertWallets } from './wallets.ts';

/** What Redis believes of Postgres for one coupon (meta), as read with a batch (drain/batch-read.ts). */
export interface RedisMirror {
  /** 'missing': no meta (lost, or expired after the event); 'stale': flagged for healing; 'ok'. */
  state: 'ok' | 'missing' | 'stale';
  issued: number;
  decidedSeq: string;
}

/** The batch was written with a fencing token older than one Postgres has seen (or the same number, held by another). */
export class FencedOutError extends Error {
  override name = 'FencedOutError';
  constructor(readonly fence: number, readonly storedFence: string) {
    super(`fencing token ${fence} is older than ${storedFence}, or held by another: the batch was not written`);
  }
}

/** Redis's mirror is older than Postgres's high-water mark: Redis went back in time. Nothing was written. */
export class RedisBehindError extends Error {
  override name = 'RedisBehindError';
  constructor(readonly mirror: RedisMirror, readonly postgres: CouponHighWater) {
    super(
      `Redis is behind Postgres (issued ${mirror.issued} < ${postgres.issuedQuantity} or decided up to ${mirror.decidedSeq} < ${postgres.decidedSeq}): heal before deciding`,
    );
  }
}

export interface IssuedBatch {
  decisions: Decision[];
  /** issuedAt (ms) per issued ticket (wallet id = ticket id). */
  issuedAt: Map<string, number>;
  issuedQuantity: number;
  totalQuantity: number;
  /** Postgres's high-water mark after the commit. */
  decidedSeq: string;
  /** Postgres's high-water mark before the batch: the mirror must have known it, or it missed something. */
  before: CouponHighWater;
}

/** Whether Redis's mirror knows less than Postgres: under the coupon lock this is exact (no resolve can be in flight but a zombie's, which only ever writes older values). */
export function mirrorIsBehind(mirror: RedisMirror, postgres: CouponHighWater): boolean {
  return mirror.issued < postgres.issuedQuantity || BigInt(mirror.decidedSeq) < BigInt(postgres.decidedSeq);
}

/**
 * Where a ticket becomes issued in Postgres, and where the limit is enforced: decides one batch
 * and writes it, in one Postgres transaction.
 *
 * 1. Claim the coupon row with our fencing token (coupon-row.ts `claimCouponForBatch`; refused:
 *    FencedOutError). Every later statement runs under this row lock.
 * 2. Compare Redis's mirror with Postgres's high-water mark (behind: RedisBehindError, nothing
 *    decided on stale state).
 * 3. Look up wallets the candidates already hold (wallets.ts) and decide in arrival order within
 *    `total - issued` (decide-batch.ts `decideBatch`).
 * 4. Insert the winners (wallets.ts `insertWallets`; UNIQUE (coupon_id, user_id) behind it), then
 *    advance the issued count, guarded by `issued + n <= total`, and the high-water mark
 *    (coupon-row.ts `recordBatchProgress`; the table's CHECK behind it).
 *
 * Nothing is visible to anyone until it commits; only then does the caller (drain/drain-coupon.ts)
 * resolve the tickets in Redis.
 */
export async function issueBatch(
  db: Kysely<Database>,
  couponCode: string,
  lease: { fence: number; holder: string },
  candidates: Candidate[],
  mirror: RedisMirror,
): Promise<IssuedBatch> {
  return db.transaction().execute(async (trx) => {
    const claim = await claimCouponForBatch(trx, couponCode, lease);
    if (claim.kind === 'fenced') throw new FencedOutError(lease.fence, claim.storedFence);
    if (claim.kind === 'missing') throw new Error(`coupon ${couponCode} does not exist in Postgres`);
    if (mirrorIsBehind(mirror, claim)) throw new RedisBehindError(mirror, claim);

    const userIds = [...new Set(candidates.map((c) => c.userId).filter(Boolean))];
    const existing = await findWalletsOfUsers(trx, claim.couponId, userIds);
    const { decisions, newWallets } = decideBatch(
      candidates,
      new Map(existing.map((wallet) => [wallet.user_id, wallet.id])),
      claim.totalQuantity - claim.issuedQuantity,
    );

    const issuedAt = new Map(existing.map((wallet) => [wallet.id, wallet.issued_at.getTime()]));
    const inserted = await insertWallets(trx, claim.couponId, newWallets);
    if (inserted.length !== newWallets.length) {
      // Only possible if Postgres holds wallets we did not see under the row lock: refuse the batch.
      throw new Error(`inserted ${inserted.length} of ${newWallets.length} wallets for ${couponCode}; batch rolled back`);
    }
    for (const wallet of inserted) issuedAt.set(wallet.id, wallet.issued_at.getTime());
    const lastSeq = Math.max(...candidates.map((c) => c.seq));
    const progress = await recordBatchProgress(trx, claim.couponId, newWallets.length, lastSeq);
    if (progress === undefined) throw new Error(`issued count of ${couponCode} would pass its limit; batch rolled back`);
    return {
      decisions,
      issuedAt,
      issuedQuantity: progress.issuedQuantity,
      totalQuantity: claim.totalQuantity,
      decidedSeq: progress.decidedSeq,
      before: { totalQuantity: claim.totalQuantity, issuedQuantity: claim.issuedQuantity, decidedSeq: claim.decidedSeq },
    };
  });
}
