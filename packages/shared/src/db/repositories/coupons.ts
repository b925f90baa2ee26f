import type { Kysely } from 'kysely';
import type { CouponRow, Database } from '../database.ts';

const couponColumns = [
  'id',
  'code',
  'name',
  'discount_amount',
  'total_quantity',
  'issued_quantity',
  'lock_fence',
  'lock_holder',
  'decided_seq',
  'starts_at',
  'ends_at',
  'created_at',
] as const;

export function listCoupons(db: Kysely<Database>): Promise<CouponRow[]> {
  return db.selectFrom('coupon').select(couponColumns).orderBy('code').execute();
}

export function findCouponByCode(db: Kysely<Database>, code: string): Promise<CouponRow | undefined> {
  return db.selectFrom('coupon').select(couponColumns).where('code', '=', code).executeTakeFirst();
}
