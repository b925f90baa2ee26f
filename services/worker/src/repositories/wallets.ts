import { sql, type Transaction } from 'kysely';
import type { Database } from '@coupons/shared/db';

export interface WalletRow {
  id: string;
  user_id: string;
  issued_at: Date;
}

/** Wallets this coupon already holds for any of these users. */
export function findWalletsOfUsers(trx: Transaction<Database>, couponId: string, userIds: string[]): Promise<WalletRow[]> {
  if (userIds.length === 0) return Promise.resolve([]);
  return trx
    .selectFrom('coupon_wallet')
    .select(['id', 'user_id', 'issued_at'])
    .where('coupon_id', '=', couponId)
    .where('user_id', '=', sql<string>`ANY(${userIds}::uuid[])`)
    .execute();
}

/**
 * Inserts the batch's winners in one statement (unnest: one round trip for the whole batch).
 * ON CONFLICT DO NOTHING keeps the UNIQUE(coupon_id, user_id) constraint as the last line of
 * defence without aborting the batch; the caller checks every winner came back.
 */
export async function insertWallets(
  trx: Transaction<Database>,
  couponId: string,
  wallets: { ticketId: string; userId: string }[],
): Promise<WalletRow[]> {
  if (wallets.length === 0) return [];
  const ids = wallets.map((wallet) => wallet.ticketId);
  const users = wallets.map((wallet) => wallet.userId);
  const result = await sql<WalletRow>`
    INSERT INTO coupon_wallet (id, coupon_id, user_id)
    SELECT w.id, ${couponId}::uuid, w.user_id
    FROM unnest(${ids}::uuid[], ${users}::uuid[]) AS w(id, user_id)
    ON CONFLICT DO NOTHING
    RETURNING id, user_id, issued_at`.execute(trx);
  return result.rows;
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
