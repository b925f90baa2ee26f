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

/** A wallet as a ticket answers it: the wallet id is the id of the ticket that won it. */
export interface IssuedWallet {
  walletId: string;
  couponCode: string;
  userId: string;
  issuedAt: Date;
}

function issuedWallets(db: Kysely<Database>) {
  return db
    .selectFrom('coupon_wallet as w')
    .innerJoin('coupon as c', 'c.id', 'w.coupon_id')
    .select(['w.id as walletId', 'c.code as couponCode', 'w.user_id as userId', 'w.issued_at as issuedAt']);
}

/** The wallet a ticket won, if it did: how a winner's ticket is answered once Redis no longer has it. */
export function findWalletById(db: Kysely<Database>, walletId: string): Promise<IssuedWallet | undefined> {
  return issuedWallets(db).where('w.id', '=', walletId).executeTakeFirst();
}

/** The user's wallet of this coupon, if any: how a resubmission is answered once Redis no longer knows the user. */
export function findWalletOfUser(db: Kysely<Database>, couponCode: string, userId: string): Promise<IssuedWallet | undefined> {
  return issuedWallets(db).where('c.code', '=', couponCode).where('w.user_id', '=', userId).executeTakeFirst();
}
