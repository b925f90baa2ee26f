// What an operator sees of a coupon: the public fields, its state, and live figures from Redis.
import type { CouponRow } from '@coupons/shared/db';
import type { CouponScripts } from '@coupons/shared/redis';
import type { AdminCoupon, AdminCouponState } from '@coupons/shared/schemas';
import { toCouponView } from '../routes/coupons.ts';

/** Live figures of a coupon (Redis): admitted and undecided, and admitted so far. */
export interface LiveFigures {
  pending: number;
  admitted: number;
}

/**
 * The state an operator sees, derived (never stored) from the operator's run state, the
 * quantities and the window at `nowMs` (Redis's clock, as admission judges the window). A close
 * and the end of the window both read `closed`; closed and sold out say more than paused.
 */
export function couponState(row: CouponRow, nowMs: number): AdminCouponState {
  if (row.closed_at) return 'closed';
  if (row.issued_quantity >= row.total_quantity) return 'sold_out';
  if (row.ends_at && row.ends_at.getTime() <= nowMs) return 'closed';
  if (row.paused_at) return 'paused';
  if (nowMs < row.starts_at.getTime()) return 'scheduled';
  return 'open';
}

/** Whether admissions may have begun: the window opened (Redis's clock). Quantities and startsAt are frozen from then on. */
export function hasOpened(row: CouponRow, nowMs: number): boolean {
  return row.starts_at.getTime() <= nowMs;
}

export function adminCouponView(row: CouponRow, live: LiveFigures, nowMs: number): AdminCoupon {
  return {
    ...toCouponView(row),
    state: couponState(row, nowMs),
    pending: live.pending,
    admitted: live.admitted,
    pausedAt: row.paused_at?.toISOString() ?? null,
    closedAt: row.closed_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

/** Redis's clock, ms: the one clock the window is judged on (admit-4.lua reads the same TIME). */
export async function redisNowMs(redis: { time(): Promise<[string, string] | (string | number)[]> }): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The admin views of `rows`, with one Redis round trip for all their live figures. */
export async function adminCouponViews(scripts: CouponScripts, rows: readonly CouponRow[], nowMs: number): Promise<AdminCoupon[]> {
  const figures = await scripts.admissionFigures(rows.map((row) => row.code));
  return rows.map((row, i) => adminCouponView(row, figures[i]!, nowMs));
}
