import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys } from '@coupons/shared/redis';
import { createTestEnvironment, waitFor, type ServiceProcess, type TestEnvironment } from '@coupons/shared/testing';
import { createCoupon, distinctUsers, startApi, startWorkers, submitAll, verifyEvent, waitUntilAllFinal } from './event-harness.ts';

const LIMIT = 40;
const LEASE_MS = 1_000;

/**
 * The lock's lease expires under a paused holder (SIGSTOP past the lease, like a long GC pause
 * or a network partition). Another worker takes the lock and finishes the event. When the
 * paused worker resumes (SIGCONT) it still believes it holds the lock and tries to write its
 * batch: the fencing token must stop that write.
 */
describe('a paused lock holder whose lease expired', () => {
  let env: TestEnvironment;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment({ BATCH_SIZE: '30', LOCK_LEASE_MS: String(LEASE_MS), STALLED_INTERVAL_MS: '1000' });
    await createCoupon(env, 'F0040', LIMIT);
  });
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.signal('SIGCONT');
    await Promise.all(processes.map((p) => p.kill()));
    await env.cleanup();
  });

  it('cannot write once it resumes: the fencing token refuses the stale batch', async () => {
    const keys = couponKeys(env.config.REDIS_PREFIX, 'F0040');
    const api = await startApi(env);
    // The holder pauses 3 s between reading its batch and writing it; we freeze it there.
    const [paused] = await startWorkers(env, 1, { FAULT_DELAY_BEFORE_COMMIT_MS: '3000' });
    processes.push(api.process, paused!);

    const answered = await submitAll(api.baseUrl, 'F0040', distinctUsers(200), 16);
    await paused!.waitForOutput(/pausing before commit/);
    paused!.signal('SIGSTOP');
    const staleFence = Number(await env.redis.get(keys.fence));

    // The lease runs out; a healthy worker takes the lock with a newer token and finishes.
    await waitFor(async () => (await env.redis.exists(keys.lock)) === 0, { timeoutMs: 10 * LEASE_MS, message: 'the lease to expire' });
    const [successor] = await startWorkers(env, 1);
    processes.push(successor!);
    const finalStatus = await waitUntilAllFinal(env, 'F0040', answered);

    // Resume the stale holder: it tries to write with its old token and is refused.
    paused!.signal('SIGCONT');
    await paused!.waitForOutput(/fenced out: lease expired under us, batch not written/, 15_000);

    const coupon = await env.db.selectFrom('coupon').select('lock_fence').where('code', '=', 'F0040').executeTakeFirstOrThrow();
    expect(Number(coupon.lock_fence)).toBeGreaterThan(staleFence);
    const verdict = await verifyEvent(env, 'F0040', answered, finalStatus);
    expect(verdict).toEqual({
      issuedQuantity: LIMIT,
      wallets: LIMIT,
      distinctWalletUsers: LIMIT,
      issuedTickets: LIMIT,
      inversions: 0,
      serverErrors: 0,
    });
  });
});
