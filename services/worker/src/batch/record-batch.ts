import type { Kysely } from 'kysely';
import type { Database } from '@coupons/shared/db';
import { decideBatch, type Candidate, type Decision } from '@coupons/shared/domain';
import { claimCouponForBatch } from '../repositories/claim-coupon-for-batch.ts';
import { advanceIssuedQuantity, findWalletsOfUsers, insertWallets } from '../repositories/wallets.ts';

/** The batch was written with a fencing token older than one Postgres has seen. */
export class FencedOutError extends Error {
  override name = 'FencedOutError';
  constructor(readonly fence: number, readonly storedFence: string) {
    super(`fencing token ${fence} is older than ${storedFence}: the batch was not written`);
  }
}

export interface RecordedBatch {
  decisions: Decision[];
  /** walletId|issuedAt (ms) per issued ticket. */
  issuedAt: Map<string, number>;
  issuedQuantity: number;
  totalQuantity: number;
}

/**
 * Decides and records one batch in one Postgres transaction: claim the coupon row with our
 * fencing token, look up wallets the candidates already hold, decide in arrival order, insert
 * the winners, advance the issued count. Nothing is visible to anyone until it commits; only
 * then does the caller resolve tickets in Redis.
 */
export async function recordBatch(
  db: Kysely<Database>,
  couponCode: string,
  fence: number,
  candidates: Candidate[],
): Promise<RecordedBatch> {
  return db.transaction().execute(async (trx) => {
    const claim = await claimCouponForBatch(trx, couponCode, fence);
    if (claim.kind === 'fenced') throw new FencedOutError(fence, claim.storedFence);
    if (claim.kind === 'missing') throw new Error(`coupon ${couponCode} does not exist in Postgres`);

    const userIds = [...new Set(candidates.map((c) => c.userId).filter(Boolean))];
    const existing = await findWalletsOfUsers(trx, claim.couponId, userIds);
    const { decisions, newWallets } = decideBatch(
      candidates,
      new Map(existing.map((wallet) => [wallet.user_id, wallet.id])),
      claim.totalQuantity - claim.issuedQuantity,
    );

    const issuedAt = new Map(existing.map((wallet) => [wallet.id, wallet.issued_at.getTime()]));
    let issuedQuantity = claim.issuedQuantity;
    if (newWallets.length > 0) {
      const inserted = await insertWallets(trx, claim.couponId, newWallets);
      if (inserted.length !== newWallets.length) {
        // Only possible if Postgres holds wallets we did not see under the row lock: refuse the batch.
        throw new Error(`inserted ${inserted.length} of ${newWallets.length} wallets for ${couponCode}; batch rolled back`);
      }
      for (const wallet of inserted) issuedAt.set(wallet.id, wallet.issued_at.getTime());
      const advanced = await advanceIssuedQuantity(trx, claim.couponId, newWallets.length);
      if (advanced === undefined) throw new Error(`issued count of ${couponCode} would pass its limit; batch rolled back`);
      issuedQuantity = advanced;
    }
    return { decisions, issuedAt, issuedQuantity, totalQuantity: claim.totalQuantity };
  });
}
