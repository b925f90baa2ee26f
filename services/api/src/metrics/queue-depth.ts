import type { Redis } from 'ioredis';
import { couponKeys } from '@coupons/shared/redis';

/** Admitted, undecided tickets per coupon (ZCARD of each pending set). */
export async function readQueueDepths(redis: Redis, prefix: string, codes: string[]): Promise<Record<string, number>> {
  const depths = await Promise.all(codes.map((code) => redis.zcard(couponKeys(prefix, code).pending)));
  return Object.fromEntries(codes.map((code, i) => [code, depths[i]!]));
}
