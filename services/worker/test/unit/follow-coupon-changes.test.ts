// Coupons created or changed at run time, as a worker learns of them (fast-path/follow-coupon-changes.ts)
// and as its check carries an operator's run state into Redis (heal-from-postgres.ts, healIfBehind).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { couponScripts, publishCouponChange, type CouponChangeSubscription } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { followCouponChanges } from '../../src/fast-path/follow-coupon-changes.ts';
import { healIfBehind } from '../../src/fast-path/heal-from-postgres.ts';
import { createWorkerTestEnvironment, insertCoupon, type WorkerTestEnvironment } from './in-process-harness.ts';

describe('a worker following coupon changes', () => {
  let t: WorkerTestEnvironment;
  let subscription: CouponChangeSubscription;
  let checkAllCalls = 0;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment();
    subscription = await followCouponChanges(t.deps, new Redis(t.config.REDIS_URL, { autoResubscribe: false, connectionName: `${t.prefix}:coupon-changes` }), () => checkAllCalls++);
  });
  afterAll(async () => {
    subscription?.stop();
    await t.cleanup();
  });

  it('writes the mirror of a coupon announced at run time, with no reconcile pass', async () => {
    await insertCoupon(t.deps.db, 'FC0001', 7);
    expect(await t.env.redis.exists(t.keysOf('FC0001').meta)).toBe(0);
    expect(await publishCouponChange(t.env.redis, t.prefix, 'FC0001')).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await t.env.redis.hget(t.keysOf('FC0001').meta, 'total')) === '7', { timeoutMs: 4_000, message: 'the mirror of FC0001' });
    expect(await t.env.redis.hmget(t.keysOf('FC0001').meta, 'soldOut', 'run')).toEqual(['0', 'active']);
  });

  it('after its connection drops and comes back, subscribes again and asks for a whole pass (messages may be lost)', async () => {
    const before = checkAllCalls;
    // CLIENT KILL of this test's subscriber (found by its connection name; the shared Redis has others').
    const clients = (await t.env.redis.call('CLIENT', 'LIST')) as string;
    const subscriber = clients.split('\n').find((line) => line.includes(` name=${t.prefix}:coupon-changes `));
    expect(subscriber).toBeDefined();
    const id = /(?:^| )id=(\d+)/.exec(subscriber!)![1]!;
    await t.env.redis.call('CLIENT', 'KILL', 'ID', id);
    await waitFor(() => checkAllCalls > before, { timeoutMs: 5_000, message: 'a whole pass after the resubscription' });
    await insertCoupon(t.deps.db, 'FC0002', 3);
    await publishCouponChange(t.env.redis, t.prefix, 'FC0002');
    await waitFor(async () => (await t.env.redis.hget(t.keysOf('FC0002').meta, 'total')) === '3', { timeoutMs: 4_000, message: 'the mirror of FC0002 after the reconnect' });
  });

  it("healIfBehind writes an operator's run state that reached Postgres but not Redis, and never an older one", async () => {
    const code = 'FC0003';
    await insertCoupon(t.deps.db, code, 5);
    await couponScripts(t.env.redis, t.prefix).copyMirror(code, { total: 5, issued: 0, decidedSeq: 0, run: 'active', runVersion: 0 });
    await t.deps.db.updateTable('coupon').set({ paused_at: new Date(), state_version: 1 }).where('code', '=', code).execute();
    await healIfBehind(t.deps, code, t.keysOf(code));
    expect(await t.env.redis.hmget(t.keysOf(code).meta, 'run', 'runVersion')).toEqual(['paused', '1']);
    // Redis already holds a later state (an admin call's write the row read here predates): kept.
    await couponScripts(t.env.redis, t.prefix).setRunState(code, 'closed', 2, 60);
    await healIfBehind(t.deps, code, t.keysOf(code));
    expect(await t.env.redis.hmget(t.keysOf(code).meta, 'run', 'runVersion')).toEqual(['closed', '2']);
  });
});
