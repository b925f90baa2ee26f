import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@coupons/shared/testing';
import { withCouponLock, type CouponLease } from '../../src/lock/coupon-lock.ts';
import { scriptsOf } from '../../src/worker-deps.ts';
import { capturingLogger, createWorkerTestEnvironment, type WorkerTestEnvironment } from './in-process-harness.ts';

describe('withCouponLock and its lease', () => {
  let t: WorkerTestEnvironment;
  const logs = capturingLogger();
  beforeAll(async () => {
    t = await createWorkerTestEnvironment({}, logs.log);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('grants the lock with a new fencing token each time, holds it during the work and releases it after', async () => {
    const keys = t.keysOf('LK0001');
    const first = await withCouponLock(scriptsOf(t.deps), 'LK0001', 5_000, t.deps.log, async (lease) => {
      expect(await t.env.redis.get(keys.lock)).toBe(lease.holder);
      expect(lease.holder).toMatch(/^[0-9a-f]{32}$/);
      expect(lease.lost).toBe(false);
      expect(lease.canStartBatch()).toBe(true);
      const pttl = await t.env.redis.pttl(keys.lock);
      expect(pttl).toBeGreaterThan(4_000);
      expect(pttl).toBeLessThanOrEqual(5_000);
      return lease.fence;
    });
    expect(first).toEqual({ ran: true, value: 1 });
    expect(await t.env.redis.exists(keys.lock)).toBe(0);
    const second = await withCouponLock(scriptsOf(t.deps), 'LK0001', 5_000, t.deps.log, async (lease) => lease.fence);
    expect(second).toEqual({ ran: true, value: 2 });
    expect(await t.env.redis.get(keys.fence)).toBe('2');
  });

  it('is busy while another token holds the lock: the work does not run, the other lock stays', async () => {
    const keys = t.keysOf('LK0002');
    await t.env.redis.set(keys.lock, 'someone-else', 'PX', 5_000);
    let ran = false;
    const result = await withCouponLock(scriptsOf(t.deps), 'LK0002', 5_000, t.deps.log, async () => {
      ran = true;
    });
    expect(result).toEqual({ ran: false });
    expect(ran).toBe(false);
    expect(await t.env.redis.get(keys.lock)).toBe('someone-else');
    expect(await t.env.redis.exists(keys.fence)).toBe(0);
  });

  it('renews the lease while the work runs past it', async () => {
    const keys = t.keysOf('LK0003');
    const leaseMs = 1_000;
    const result = await withCouponLock(scriptsOf(t.deps), 'LK0003', leaseMs, t.deps.log, async (lease) => {
      const startedAt = Date.now();
      // Without renewal the key would expire after one lease; wait until well past that.
      await waitFor(() => Date.now() - startedAt > leaseMs * 2, { timeoutMs: 5_000, intervalMs: 50, message: 'two leases to pass' });
      expect(await t.env.redis.get(keys.lock)).toBe(lease.holder);
      expect(lease.lost).toBe(false);
      expect(lease.canStartBatch()).toBe(true);
      return 'done';
    });
    expect(result).toEqual({ ran: true, value: 'done' });
    expect(await t.env.redis.exists(keys.lock)).toBe(0);
  });

  it('stillHeld is false once another token took the lock; the lease is lost and release leaves the new lock alone', async () => {
    const keys = t.keysOf('LK0004');
    let seen: CouponLease | undefined;
    await withCouponLock(scriptsOf(t.deps), 'LK0004', 5_000, t.deps.log, async (lease) => {
      seen = lease;
      expect(await lease.stillHeld()).toBe(true);
      await t.env.redis.set(keys.lock, 'successor', 'PX', 5_000);
      expect(await lease.stillHeld()).toBe(false);
      expect(lease.lost).toBe(true);
      expect(lease.canStartBatch()).toBe(false);
    });
    expect(seen?.lost).toBe(true);
    expect(await t.env.redis.get(keys.lock)).toBe('successor');
    expect(logs.messages('coupon lock lost').some((entry) => entry.coupon === 'LK0004')).toBe(true);
  });

  it('the renewal timer notices a lost lock by itself', async () => {
    const keys = t.keysOf('LK0005');
    await withCouponLock(scriptsOf(t.deps), 'LK0005', 600, t.deps.log, async (lease) => {
      await t.env.redis.set(keys.lock, 'successor', 'PX', 5_000);
      await waitFor(() => lease.lost, { timeoutMs: 5_000, message: 'the renewal to mark the lease lost' });
      expect(lease.canStartBatch()).toBe(false);
    });
    expect(await t.env.redis.get(keys.lock)).toBe('successor');
  });

  it('releases only for the holder (compare-and-delete)', async () => {
    const keys = t.keysOf('LK0006');
    await t.env.redis.set(keys.lock, 'holder-a', 'PX', 5_000);
    expect(await t.env.redis.releaseCouponLock(keys.lock, 'holder-b')).toBe(0);
    expect(await t.env.redis.get(keys.lock)).toBe('holder-a');
    expect(await t.env.redis.renewCouponLock(keys.lock, 'holder-b', 5_000)).toBe(0);
    expect(await t.env.redis.releaseCouponLock(keys.lock, 'holder-a')).toBe(1);
    expect(await t.env.redis.exists(keys.lock)).toBe(0);
  });

  it('releases the lock when the work throws, and passes the error on', async () => {
    const keys = t.keysOf('LK0007');
    await expect(
      withCouponLock(scriptsOf(t.deps), 'LK0007', 5_000, t.deps.log, async () => {
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await t.env.redis.exists(keys.lock)).toBe(0);
  });

  it('logs a failed renewal and a failed release (Redis refusing the command) without throwing', async () => {
    const keys = t.keysOf('LK0008');
    const result = await withCouponLock(scriptsOf(t.deps), 'LK0008', 600, t.deps.log, async () => {
      // The lock key becomes a hash: GET in the renew and release scripts fails with WRONGTYPE.
      await t.env.redis.multi().del(keys.lock).hset(keys.lock, 'x', '1').exec();
      await waitFor(() => logs.messages('lock renewal failed').length > 0, { timeoutMs: 5_000, message: 'a failed renewal to be logged' });
      return 'survived';
    });
    expect(result).toEqual({ ran: true, value: 'survived' });
    expect(logs.messages('lock renewal failed')[0]!.err).toMatch(/WRONGTYPE/);
    expect(logs.messages(/lock release failed/)[0]!.err).toMatch(/WRONGTYPE/);
    await t.env.redis.del(keys.lock);
  });
});
