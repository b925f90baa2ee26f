import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Postgres is the source of truth: what is here was issued, whatever Redis says. */
export interface Database {
  coupon: CouponTable;
  coupon_wallet: CouponWalletTable;
  admin_audit: AdminAuditTable;
}

export interface CouponTable {
  id: string;
  code: string;
  name: string;
  discount_amount: number;
  total_quantity: number;
  /** CHECK (issued_quantity BETWEEN 0 AND total_quantity): never over, even if every lock fails. */
  issued_quantity: Generated<number>;
  /**
   * Highest coupon-lock fencing token that has written. A batch writes only with a token
   * at least this high, so a worker whose lease expired under it cannot write.
   * bigint comes back from pg as a string.
   */
  lock_fence: ColumnType<string, string | number | undefined, string | number>;
  /** Random token of the lock holder that last wrote: with lock_fence, one holder per token number. */
  lock_holder: string | null;
  /**
   * Highest arrival sequence a committed batch decided: the high-water mark a Redis that went
   * back in time is compared with (bigint: a string).
   */
  decided_seq: ColumnType<string, string | number | undefined, string | number>;
  starts_at: ColumnType<Date, Date | string | undefined, Date | string>;
  ends_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  /** Set by an operator's pause, cleared by a resume (migration 0003). */
  paused_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Set by an operator's close; never cleared (a close is final). */
  closed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Counts run-state changes (pause, resume, close): Redis's mirror takes a run state only with a higher one. */
  state_version: Generated<number>;
}

export interface CouponWalletTable {
  /** Equal to the id of the ticket that won it, which makes a replayed batch recognisable. */
  id: string;
  coupon_id: string;
  user_id: string;
  issued_at: ColumnType<Date, Date | string | undefined, never>;
}

/** One change an operator made through the admin API (migration 0003), newest first when read. */
export interface AdminAuditTable {
  id: string;
  at: ColumnType<Date, Date | string | undefined, never>;
  /** create, update, pause, resume, close. */
  action: string;
  coupon_code: string;
  /** The admin token's non-secret id (services/api/src/admin/admin-tokens.ts). */
  token_id: string;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
}

export type CouponRow = Selectable<CouponTable>;
export type AdminAuditRow = Selectable<AdminAuditTable>;
export type NewCoupon = Insertable<CouponTable>;
