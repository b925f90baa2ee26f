import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { DrainCoalescer } from '../../src/drain/drain-coalescer.ts';
import { createWorkerTestEnvironment, insertCoupon, openAndAdmit, statusesOf, type WorkerTestEnvironment } from './in-process-harness.ts';

describe('DrainCoalescer', () => {
  let t: WorkerTestEnvironment;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment({ BATCH_SIZE: '2' });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('drains a coupon oldest first, in BATCH_SIZE batches, and coalesces concurrent drains of one coupon into one', async () => {
    const code = 'CD0001';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 5);
    const drains = new DrainCoalescer(t.deps);
    const first = drains.drainSoon(code);
    const second = drains.drainSoon(code);
    expect(second).toBe(first);
    expect(await first).toBe(5);
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued', 'issued', 'rejected', 'rejected']);
    // Once settled, a new call is a new drain (with nothing left to decide).
    const third = drains.drainSoon(code);
    expect(third).not.toBe(first);
    expect(await third).toBe(0);
  });

  it("answers 'busy' while another worker holds the coupon lock, and drains once it is free", async () => {
    const code = 'CD0002';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 1);
    const keys = t.keysOf(code);
    await t.env.redis.set(keys.lock, 'another-worker', 'PX', 10_000);
    const drains = new DrainCoalescer(t.deps);
    expect(await drains.drainSoon(code)).toBe('busy');
    expect(await statusesOf(t, code, tickets)).toEqual(['queued']);
    await t.env.redis.del(keys.lock);
    expect(await drains.drainSoon(code)).toBe(1);
  });

  it('starts no drain once stopped', async () => {
    const code = 'CD0003';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 1);
    const drains = new DrainCoalescer(t.deps);
    expect(drains.isStopping).toBe(false);
    drains.stop();
    expect(drains.isStopping).toBe(true);
    expect(await drains.drainSoon(code)).toBe(0);
    expect(await statusesOf(t, code, tickets)).toEqual(['queued']);
    expect(await t.env.redis.exists(keys(code).lock, keys(code).fence)).toBe(0);
  });

  it('healSoon heals a missing mirror under the lock, and reports false while another worker holds it', async () => {
    const code = 'CD0004';
    await insertCoupon(t.deps.db, code, 7, { decidedSeq: 3 });
    const drains = new DrainCoalescer(t.deps);
    await t.env.redis.set(keys(code).lock, 'another-worker', 'PX', 10_000);
    expect(await drains.healSoon(code)).toBe(false);
    expect(await t.env.redis.exists(keys(code).meta)).toBe(0);
    await t.env.redis.del(keys(code).lock);
    expect(await drains.healSoon(code)).toBe(true);
    expect(await t.env.redis.hgetall(keys(code).meta)).toEqual({ total: '7', issued: '0', soldOut: '0', decidedSeq: '3', ...WHOLE_RUN_STATE });
  });

  const keys = (code: string) => t.keysOf(code);
});
