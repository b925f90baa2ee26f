import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 40;
const LEASE_MS = 1_000;

/**
 * The lock's lease expires under a paused holder (SIGSTOP past the lease, like a long GC pause
 * or a network partition). Another worker takes the lock and finishes the event. When the
 * paused worker resumes (SIGCONT) it still believes it holds the lock and tries to write its
 * batch: the fencing token must stop that write.
 */
describe('a paused lock holder whose lease expired', () => {
  let event: LocalEvent;
  beforeAll(async () => {
    event = await startLocalEvent({
      coupon: 'F0040',
      limit: LIMIT,
      workers: 0,
      env: { BATCH_SIZE: '30', LOCK_LEASE_MS: String(LEASE_MS), STALLED_INTERVAL_MS: '1000' },
    });
  });
  afterAll(() => event.stop());

  it('cannot write once it resumes: the fencing token refuses the stale batch', async () => {
    const { env } = event;
    const keys = couponKeys(env.config.REDIS_PREFIX, 'F0040');
    // The holder pauses 3 s between reading its batch and writing it; we freeze it there.
    const [paused] = await event.addWorkers(1, { FAULT_DELAY_BEFORE_COMMIT_MS: '3000' });
    const answered = await submitAll(event.baseUrl, 'F0040', distinctUsers(200), 16);
    await paused!.waitForOutput(/pausing before commit/);
    paused!.signal('SIGSTOP');
    const staleFence = Number(await env.redis.get(keys.fence));

    // The lease runs out; a healthy worker takes the lock with a newer token and finishes.
    await waitFor(async () => (await env.redis.exists(keys.lock)) === 0, { timeoutMs: 10 * LEASE_MS, message: 'the lease to expire' });
    await event.addWorkers(1);
    const finalStatus = await waitUntilAllFinal(event, answered);

    // Resume the stale holder: it tries to write with its old token and is refused.
    paused!.signal('SIGCONT');
    await paused!.waitForOutput(/fenced out: lease expired under us, batch not written/, 15_000);

    const coupon = await env.db.selectFrom('coupon').select('lock_fence').where('code', '=', 'F0040').executeTakeFirstOrThrow();
    expect(Number(coupon.lock_fence)).toBeGreaterThan(staleFence);
    expect(await verifyEvent(event, 'F0040', answered, finalStatus)).toEqual(exactEvent(LIMIT));
  });
});
