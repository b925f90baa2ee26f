import { sql, type Kysely, type Updateable } from 'kysely';
import type { CouponRow, CouponTable, Database, NewCoupon } from '../database.ts';

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
  'paused_at',
  'closed_at',
  'state_version',
] as const;

export function listCoupons(db: Kysely<Database>): Promise<CouponRow[]> {
  return db.selectFrom('coupon').select(couponColumns).orderBy('code').execute();
}

export function findCouponByCode(db: Kysely<Database>, code: string): Promise<CouponRow | undefined> {
  return db.selectFrom('coupon').select(couponColumns).where('code', '=', code).executeTakeFirst();
}

/** A new coupon, or undefined when its code is taken (the unique code decides, not a read before). */
export function insertCoupon(db: Kysely<Database>, coupon: NewCoupon): Promise<CouponRow | undefined> {
  return db
    .insertInto('coupon')
    .values(coupon)
    .onConflict((oc) => oc.column('code').doNothing())
    .returning(couponColumns)
    .executeTakeFirst();
}

/**
 * The coupon row locked until the transaction ends (FOR UPDATE), with Postgres's clock: an
 * operator's change is judged and written under the same lock a batch takes, so neither sees the
 * other half done.
 */
export function lockCouponByCode(db: Kysely<Database>, code: string): Promise<(CouponRow & { now: Date }) | undefined> {
  return db
    .selectFrom('coupon')
    .select([...couponColumns, sql<Date>`now()`.as('now')])
    .where('code', '=', code)
    .forUpdate()
    .executeTakeFirst();
}

/** The operator-editable fields a PATCH may set (the admin use case decides which are allowed when). */
export type CouponChanges = Pick<Updateable<CouponTable>, 'name' | 'discount_amount' | 'total_quantity' | 'starts_at' | 'ends_at'>;

export function updateCoupon(db: Kysely<Database>, id: string, changes: CouponChanges): Promise<CouponRow> {
  return db.updateTable('coupon').set(changes).where('id', '=', id).returning(couponColumns).executeTakeFirstOrThrow();
}

/** The run state an operator sets: paused (or not) and closed (or not); bumps state_version. */
export interface RunStateChange {
  paused: boolean;
  closed: boolean;
}

export function setCouponRunState(db: Kysely<Database>, id: string, change: RunStateChange): Promise<CouponRow> {
  return db
    .updateTable('coupon')
    .set({
      paused_at: change.paused ? sql<Date>`coalesce(paused_at, now())` : null,
      closed_at: change.closed ? sql<Date>`coalesce(closed_at, now())` : null,
      state_version: sql<number>`state_version + 1`,
    })
    .where('id', '=', id)
    .returning(couponColumns)
    .executeTakeFirstOrThrow();
}
