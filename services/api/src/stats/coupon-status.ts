// Each coupon as the dashboard shows it: Postgres's figures (the truth: issued, the decided
// high-water mark, the run state an operator set) and Redis's queue depth (pending ZCARD).
import type { RedisClient } from '@coupons/shared/redis';
import type { Kysely } from 'kysely';
import { listCoupons, type Database } from '@coupons/shared/db';
import { couponKeys } from '@coupons/shared/redis';
import type { AdminCouponState } from '@coupons/shared/schemas';
import { couponState, redisNowMs } from '../admin/admin-coupon-view.ts';

/** DESIGN.md "Operating an event": the states GET /admin/v1/coupons names (the admin API derives them; so does this). */
export type CouponState = AdminCouponState;

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

/**
 * One Postgres query for all coupons, one ZCARD each and Redis's clock (auto-pipelined into one
 * round trip). The state is the admin API's (admin-coupon-view.ts), on the clock admission uses.
 */
export function couponStatusReader(db: Kysely<Database>, redis: RedisClient, prefix: string): ReadCouponStatuses {
  return async () => {
    const rows = await listCoupons(db);
    const [pending, now] = await Promise.all([Promise.all(rows.map((row) => redis.zcard(couponKeys(prefix, row.code).pending))), redisNowMs(redis)]);
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
