import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponScripts, couponKeys, ticketKey } from '@coupons/shared/redis';
import { createTestEnvironment, openUntouchedCoupon, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import type { ServiceProcess } from '@coupons/harness/processes';
import { createCoupon, startWorkers } from './event-harness.ts';

/**
 * An API that dies between admitting a ticket (the Lua script) and enqueueing its job leaves a
 * pending ticket with no job. The worker's reconciler must find it and enqueue it.
 */
describe('the reconciler', () => {
  let env: TestEnvironment;
  let workers: ServiceProcess[] = [];
  beforeAll(async () => {
    env = await createTestEnvironment({ RECONCILE_INTERVAL_MS: '200', RECONCILE_GRACE_MS: '300' });
    await createCoupon(env, 'R0005', 5);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await env.cleanup();
  });

  it('enqueues admitted tickets that have no job, and they get decided', async () => {
    const keys = couponKeys(env.config.REDIS_PREFIX, 'R0005');
    // Admit three tickets the way the API does, but "die" before enqueueing any job.
    const stranded: string[] = [];
    await openUntouchedCoupon(env.redis, env.config.REDIS_PREFIX, 'R0005', 5);
    for (let i = 0; i < 3; i++) {
      const admitted = await couponScripts(env.redis, env.config.REDIS_PREFIX).admit({
        couponCode: 'R0005', userId: crypto.randomUUID(), ticketId: crypto.randomUUID(),
        maxBacklog: 1000, startsAt: new Date(0), endsAt: null, decidedSeqFloor: 0,
      });
      stranded.push(admitted.ticketId);
    }

    workers = await startWorkers(env, 1);
    await waitFor(
      async () => {
        const statuses = await Promise.all(stranded.map((id) => env.redis.hget(ticketKey(env.config.REDIS_PREFIX, 'R0005', id), 'status')));
        return statuses.every((status) => status === 'issued');
      },
      { message: 'the stranded tickets to be issued' },
    );
    expect(workers[0]!.output()).toMatch(/reconciler re-enqueued tickets without a live job/);
    expect(await env.redis.zcard(keys.pending)).toBe(0);
  });
});
