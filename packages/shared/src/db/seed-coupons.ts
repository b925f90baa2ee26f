import { sql, type Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from './database.ts';

/** The event: three coupons, open from the moment they are seeded, with no end. */
export const SEED_COUPONS = [
  { code: 'A0001', name: 'Coupon A', discount_amount: 10_000, total_quantity: 300 },
  { code: 'B0001', name: 'Coupon B', discount_amount: 5_000, total_quantity: 2_000 },
  { code: 'C0001', name: 'Coupon C', discount_amount: 1_000, total_quantity: 10_000 },
] as const;

/** Idempotent: an existing coupon (and what was issued of it) is left as it is. */
export async function seedCoupons(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('coupon')
    .values(SEED_COUPONS.map((coupon) => ({ id: uuidv7(), ...coupon, starts_at: sql<Date>`now()` as never })))
    .onConflict((oc) => oc.column('code').doNothing())
    .execute();
}
