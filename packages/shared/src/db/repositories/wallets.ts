import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

export interface WalletEntry {
  walletId: string;
  couponCode: string;
  discountAmount: number;
  issuedAt: Date;
}

export function walletOfUser(db: Kysely<Database>, userId: string): Promise<WalletEntry[]> {
  return db
    .selectFrom('coupon_wallet as w')
    .innerJoin('coupon as c', 'c.id', 'w.coupon_id')
    .select(['w.id as walletId', 'c.code as couponCode', 'c.discount_amount as discountAmount', 'w.issued_at as issuedAt'])
    .where('w.user_id', '=', userId)
    .orderBy('w.issued_at')
    .execute();
}

/** Every (user, wallet) of a coupon: what the Redis fast path is rebuilt from. */
export function walletsOfCoupon(db: Kysely<Database>, couponId: string) {
  return db
    .selectFrom('coupon_wallet')
    .select(['id', 'user_id', 'issued_at'])
    .where('coupon_id', '=', couponId)
    .execute();
}
