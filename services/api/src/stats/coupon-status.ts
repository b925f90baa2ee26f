// Each coupon as the dashboard shows it: Postgres's figures (the truth: issued, the decided
// high-water mark, the run state an operator set) and Redis's queue depth (pending ZCARD).
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { listCoupons, type CouponRow, type Database } from '@coupons/shared/db';
import { couponKeys } from '@coupons/shared/redis';

/** DESIGN.md "Operating an event": the states GET /admin/v1/coupons names. */
export type CouponState = 'scheduled' | 'open' | 'paused' | 'closed' | 'sold_out';

export interface CouponStatus {
  code: string;
  name: string;
  state: CouponState;
  totalQuantity: number;
  issuedQuantity: number;
  /** Admitted, not yet decided: the coupon's pending set (ZCARD). */
  pending: number;
  /** The highest arrival sequence decided (coupon.decided_seq): its growth is decisions/s. */
  decidedSeq: number;
}

/** Reads every coupon's status (stats/figures-aggregator.ts calls it once a tick). */
export type ReadCouponStatuses = () => Promise<CouponStatus[]>;

/** The state a row is in at `now`: a close or sell-out is final, a pause holds until resumed, then the window decides. */
export function couponState(row: Pick<CouponRow, 'issued_quantity' | 'total_quantity' | 'closed_at' | 'paused_at' | 'starts_at' | 'ends_at'>, now: Date): CouponState {
  if (row.issued_quantity >= row.total_quantity) return 'sold_out';
  if (row.closed_at) return 'closed';
  if (row.ends_at && row.ends_at.getTime() <= now.getTime()) return 'closed';
  if (row.paused_at) return 'paused';
  if (row.starts_at.getTime() > now.getTime()) return 'scheduled';
  return 'open';
}

/** One Postgres query for all coupons, one ZCARD each (auto-pipelined into one round trip). */
export function couponStatusReader(db: Kysely<Database>, redis: Redis, prefix: string): ReadCouponStatuses {
  return async () => {
    const rows = await listCoupons(db);
    const pending = await Promise.all(rows.map((row) => redis.zcard(couponKeys(prefix, row.code).pending)));
    const now = new Date();
    return rows.map((row, i) => ({
      code: row.code,
      name: row.name,
      state: couponState(row, now),
      totalQuantity: row.total_quantity,
      issuedQuantity: row.issued_quantity,
      pending: pending[i]!,
      decidedSeq: Number(row.decided_seq),
    }));
  };
}
