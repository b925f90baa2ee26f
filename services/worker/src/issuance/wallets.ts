import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { CouponWalletTable, Database } from '@coupons/shared/db';

/**
 * The worker's wallet repository: what a batch reads and writes (the wallets its candidates
 * already hold, the winners' insert) and what the fast path is rebuilt from. A wallet's id is
 * the id of the ticket that won it.
 */
export type WalletRow = Pick<Selectable<CouponWalletTable>, 'id' | 'user_id' | 'issued_at'>;

function walletsOf(db: Kysely<Database>, couponId: string) {
  return db.selectFrom('coupon_wallet').select(['id', 'user_id', 'issued_at']).where('coupon_id', '=', couponId);
}

/** Every wallet of a coupon: what the Redis fast path is rebuilt from (heal-from-postgres.ts). */
export function walletsOfCoupon(db: Kysely<Database>, couponId: string): Promise<WalletRow[]> {
  return walletsOf(db, couponId).execute();
}

/** Wallets this coupon already holds for any of these users. */
export function findWalletsOfUsers(trx: Transaction<Database>, couponId: string, userIds: string[]): Promise<WalletRow[]> {
  if (userIds.length === 0) return Promise.resolve([]);
  return walletsOf(trx, couponId)
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
