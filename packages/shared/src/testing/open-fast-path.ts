import { couponScripts, type CouponRedis } from '../redis/index.ts';

/**
 * Writes the Redis mirror of a coupon nothing has been decided on yet (what a worker's heal
 * writes for it, through the mirror's one writer), so tests and tools can admit into it without
 * starting a worker first.
 */
export async function openUntouchedCoupon(redis: CouponRedis, prefix: string, couponCode: string, total: number): Promise<void> {
  await couponScripts(redis, prefix).copyMirror(couponCode, { total, issued: 0, decidedSeq: 0, run: 'active', runVersion: 0 });
}

/** The run-state fields of a mirror no operator has touched, as Redis returns them (HGETALL). */
export const WHOLE_RUN_STATE = { run: 'active', runVersion: '0' } as const;
