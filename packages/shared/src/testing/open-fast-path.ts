import { couponKeys, type CouponRedis } from '../redis/index.ts';

/**
 * Writes the Redis mirror of a coupon nothing has been decided on yet (what a worker's heal
 * writes for it), so tests and tools can admit into it without starting a worker first.
 */
export async function openUntouchedCoupon(redis: CouponRedis, prefix: string, couponCode: string, total: number): Promise<void> {
  await redis.hset(couponKeys(prefix, couponCode).meta, { total, issued: 0, soldOut: '0', decidedSeq: 0 });
}
