/**
 * The coupon row's SQL in a batch, both statements under the row lock the first one takes:
 * the fenced claim (who may write this batch at all) and the guarded count (the issued count can
 * never pass the limit, whatever was decided).
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '@coupons/shared/db';

/** Postgres's high-water mark of a coupon, as a batch's claim reads it under the row lock. */
export interface CouponHighWater {
  totalQuantity: number;
  issuedQuantity: number;
  /** The highest arrival sequence a committed batch decided (bigint: a string). */
  decidedSeq: string;
}

export type CouponClaim =
  | ({ kind: 'claimed'; couponId: string } & CouponHighWater)
  | { kind: 'fenced'; storedFence: string }
  | { kind: 'missing' };

/**
 * The fencing check, and the row lock for the batch, in one statement: the coupon row takes
 * our token only if no newer token has written, and a token of the same number only if it is
 * ours (the holder's random token). A Redis that went back in time can hand a fence number out
 * a second time; the holder column keeps that second holder out while the first one writes.
 * Every later statement of the transaction runs under this row lock, so two batches of one
 * coupon can never interleave in Postgres.
 */
export async function claimCouponForBatch(
  trx: Transaction<Database>,
  couponCode: string,
  lease: { fence: number; holder: string },
): Promise<CouponClaim> {
  const fence = sql<string>`${lease.fence}::bigint`;
  const claimed = await trx
    .updateTable('coupon')
    .set({ lock_fence: lease.fence, lock_holder: lease.holder })
    .where('code', '=', couponCode)
    .where((eb) => eb.or([eb('lock_fence', '<', fence), eb.and([eb('lock_fence', '=', fence), eb('lock_holder', '=', lease.holder)])]))
    .returning(['id', 'total_quantity', 'issued_quantity', 'decided_seq'])
    .executeTakeFirst();
  if (claimed) {
    return {
      kind: 'claimed',
      couponId: claimed.id,
      totalQuantity: claimed.total_quantity,
      issuedQuantity: claimed.issued_quantity,
      decidedSeq: claimed.decided_seq,
    };
  }
  const existing = await trx.selectFrom('coupon').select('lock_fence').where('code', '=', couponCode).executeTakeFirst();
  return existing ? { kind: 'fenced', storedFence: existing.lock_fence } : { kind: 'missing' };
}

/**
 * Records a batch's progress on the coupon row: the issued count advances by the winners,
 * guarded so it can never pass the limit (the CHECK constraint would refuse it too), and the
 * high-water mark `decided_seq` moves up to the batch's last arrival sequence. Returns the new
 * values, or undefined when the guard refused.
 */
export async function recordBatchProgress(
  trx: Transaction<Database>,
  couponId: string,
  winners: number,
  lastSeq: number,
): Promise<{ issuedQuantity: number; decidedSeq: string } | undefined> {
  const row = await trx
    .updateTable('coupon')
    .set({
      issued_quantity: sql<number>`issued_quantity + ${winners}`,
      decided_seq: sql<string>`GREATEST(decided_seq, ${lastSeq}::bigint)`,
    })
    .where('id', '=', couponId)
    .where(sql<boolean>`issued_quantity + ${winners} <= total_quantity`)
    .returning(['issued_quantity', 'decided_seq'])
    .executeTakeFirst();
  return row && { issuedQuantity: row.issued_quantity, decidedSeq: row.decided_seq };
}
