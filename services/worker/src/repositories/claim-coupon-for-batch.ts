import { sql, type Transaction } from 'kysely';
import type { Database } from '@coupons/shared/db';

export type CouponClaim =
  | { kind: 'claimed'; couponId: string; totalQuantity: number; issuedQuantity: number }
  | { kind: 'fenced'; storedFence: string }
  | { kind: 'missing' };

/**
 * The fencing check, and the row lock for the batch, in one statement: the coupon row takes
 * our token only if no newer token has written. Every later statement of the transaction
 * runs under this row lock, so two batches of one coupon can never interleave in Postgres.
 */
export async function claimCouponForBatch(trx: Transaction<Database>, couponCode: string, fence: number): Promise<CouponClaim> {
  const claimed = await trx
    .updateTable('coupon')
    .set({ lock_fence: fence })
    .where('code', '=', couponCode)
    .where('lock_fence', '<=', sql<string>`${fence}::bigint`)
    .returning(['id', 'total_quantity', 'issued_quantity'])
    .executeTakeFirst();
  if (claimed) {
    return { kind: 'claimed', couponId: claimed.id, totalQuantity: claimed.total_quantity, issuedQuantity: claimed.issued_quantity };
  }
  const existing = await trx.selectFrom('coupon').select('lock_fence').where('code', '=', couponCode).executeTakeFirst();
  return existing ? { kind: 'fenced', storedFence: existing.lock_fence } : { kind: 'missing' };
}
