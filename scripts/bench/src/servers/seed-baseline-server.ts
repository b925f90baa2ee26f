// P3's baseline: the seed's design, reproduced. Per request, synchronously: take a Redis spin
// lock on the coupon (SET NX PX with a random token, retried until granted, as a Redisson
// `tryLock` does), load the coupon, count its wallets in Postgres, check this user has none,
// insert the wallet, release the lock (compare-and-delete), answer. 201 issued; 409 SOLD_OUT or
// ALREADY_ISSUED; 503 LOCK_TIMEOUT if the lock was not granted within the wait time.
//
// It runs on this system's schema (coupon, coupon_wallet) in its own fresh database, through
// the same express parsing as the API, so what differs is only the design of the decision.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { couponKeys, registerCommands } from '@coupons/shared/redis';
import { runMain } from '@coupons/shared/runtime';
import { sendProblem, serveIssueRequests } from './issue-app.ts';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

await runMain('bench-seed-baseline', async (log) => {
  const config = loadConfig();
  const retryMs = setting('BASELINE_LOCK_RETRY_MS', 10);
  const leaseMs = setting('BASELINE_LOCK_LEASE_MS', 5_000);
  const waitMs = setting('BASELINE_LOCK_WAIT_MS', 30_000);
  const redis = registerCommands(new Redis(config.REDIS_URL, { enableAutoPipelining: true }));
  // A Spring/Hikari-sized pool; only the lock holder's request uses it at any moment.
  const db = createDb(config.DATABASE_URL, { maxConnections: 10, applicationName: 'bench-seed-baseline' });

  /** Runs `decide` under the coupon's spin lock; null when the lock was not granted in time. */
  async function withSpinLock<T>(lockKey: string, decide: () => Promise<T>): Promise<T | null> {
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    while ((await redis.set(lockKey, token, 'PX', leaseMs, 'NX')) !== 'OK') {
      if (Date.now() >= deadline) return null;
      await delay(retryMs);
    }
    try {
      return await decide();
    } finally {
      await redis.releaseCouponLock(lockKey, token);
    }
  }

  await serveIssueRequests(
    log,
    async ({ userId, couponCode }, res) => {
      const outcome = await withSpinLock(couponKeys(config.REDIS_PREFIX, couponCode).lock, async () => {
        const coupon = await db.selectFrom('coupon').select(['id', 'total_quantity']).where('code', '=', couponCode).executeTakeFirst();
        if (!coupon) return 'COUPON_NOT_FOUND' as const;
        const { issued } = await db
          .selectFrom('coupon_wallet')
          .select((eb) => eb.fn.countAll<string>().as('issued'))
          .where('coupon_id', '=', coupon.id)
          .executeTakeFirstOrThrow();
        if (Number(issued) >= coupon.total_quantity) return 'SOLD_OUT' as const;
        const held = await db.selectFrom('coupon_wallet').select('id').where('coupon_id', '=', coupon.id).where('user_id', '=', userId).executeTakeFirst();
        if (held) return 'ALREADY_ISSUED' as const;
        const walletId = uuidv7();
        await db.insertInto('coupon_wallet').values({ id: walletId, coupon_id: coupon.id, user_id: userId }).execute();
        return { walletId };
      });
      if (outcome === null) return sendProblem(res, 503, 'LOCK_TIMEOUT');
      if (outcome === 'COUPON_NOT_FOUND') return sendProblem(res, 404, outcome);
      if (typeof outcome === 'string') return sendProblem(res, 409, outcome);
      res.status(201).json({ walletId: outcome.walletId, couponCode, status: 'issued' });
    },
    async () => {
      redis.disconnect();
      await db.destroy();
    },
  );
  log.info({ retryMs, leaseMs, waitMs }, 'seed baseline started');
});
