import { afterAll, beforeAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { couponScripts, couponKeys, type AdmitRequest, type CouponKeys } from '../src/redis/index.ts';
import type { AdmissionResult } from '../src/domain/index.ts';
import { createTestEnvironment, openUntouchedCoupon, type TestEnvironment } from '../src/testing/index.ts';

export interface RedisWorld {
  /** The file's environment (its own database and Redis key prefix). */
  readonly env: TestEnvironment;
  /**
   * Keys of a coupon code nobody else in the file uses, so tests do not see each other's state;
   * its fast path is open (a mirror of an untouched coupon of `total`), as a worker's heal leaves it.
   */
  freshCoupon(total?: number): Promise<{ code: string; keys: CouponKeys }>;
  /** Runs the admit script for one user with a new ticket id, and parses the reply. */
  admit(coupon: { code: string; keys: CouponKeys }, userId: string, options?: AdmitOptions): Promise<AdmissionResult>;
}

export type AdmitOptions = Partial<Omit<AdmitRequest, 'couponCode' | 'userId'>> & { redis?: TestEnvironment['redis'] };

/** Sets up one test environment for the calling file (beforeAll) and cleans it up (afterAll). */
export function useRedisWorld(): RedisWorld {
  let env: TestEnvironment | undefined;
  let coupons = 0;
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  const world: RedisWorld = {
    get env() {
      if (!env) throw new Error('the test environment is not set up yet (use it inside tests or hooks)');
      return env;
    },
    async freshCoupon(total = 1_000) {
      coupons += 1;
      const code = `T${String(coupons).padStart(4, '0')}`;
      const keys = couponKeys(world.env.config.REDIS_PREFIX, code);
      await openUntouchedCoupon(world.env.redis, world.env.config.REDIS_PREFIX, code, total);
      return { code, keys };
    },
    async admit({ code }, userId, { redis = world.env.redis, ...request } = {}) {
      return couponScripts(redis, world.env.config.REDIS_PREFIX).admit({
        couponCode: code,
        userId,
        ticketId: randomUUID(),
        maxBacklog: 100_000,
        startsAt: new Date(0),
        endsAt: null,
        decidedSeqFloor: 0,
        ...request,
      });
    },
  };
  return world;
}
