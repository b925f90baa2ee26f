import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdmissionReply } from '@coupons/shared/domain';
import { couponKeys } from '@coupons/shared/redis';
import { createTestEnvironment, waitFor, type ServiceProcess, type TestEnvironment } from '@coupons/shared/testing';
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
    for (let i = 0; i < 3; i++) {
      const reply = await env.redis.admitIssueRequest(
        keys.users, keys.pending, keys.seq, keys.meta,
        crypto.randomUUID(), crypto.randomUUID(), 'R0005', Date.now(), 1000, keys.ticketPrefix,
      );
      stranded.push(parseAdmissionReply(reply).ticketId);
    }

    workers = await startWorkers(env, 1);
    await waitFor(
      async () => {
        const statuses = await Promise.all(stranded.map((id) => env.redis.hget(`${keys.ticketPrefix}${id}`, 'status')));
        return statuses.every((status) => status === 'issued');
      },
      { message: 'the stranded tickets to be issued' },
    );
    expect(workers[0]!.output()).toMatch(/reconciler re-enqueued tickets without a live job/);
    expect(await env.redis.zcard(keys.pending)).toBe(0);
  });
});
