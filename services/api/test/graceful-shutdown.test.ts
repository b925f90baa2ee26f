import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys } from '@coupons/shared/redis';
import { createTestEnvironment, openUntouchedCoupon, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { startApi, type ServiceProcess } from '@coupons/harness/processes';

/**
 * SIGTERM to an API replica in the middle of a burst: readiness goes false first (while it
 * still serves), in-flight requests finish with real answers, then it stops accepting and exits
 * 0. Every ticket it answered 202 for exists and is queued for a worker: nothing is lost.
 */
describe('API graceful shutdown mid-burst', () => {
  let env: TestEnvironment;
  let api: ServiceProcess;
  let baseUrl: string;

  beforeAll(async () => {
    env = await createTestEnvironment();
    await openUntouchedCoupon(env.redis, env.config.REDIS_PREFIX, 'C0001', 10_000); // no worker here to open it
    ({ process: api, baseUrl } = await startApi({ ...env.env, PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_READINESS_DELAY_MS: '1500' }));
  });
  afterAll(async () => {
    await api.kill();
    await env.cleanup();
  });

  it('turns unready first, finishes in-flight requests, loses no admitted ticket, exits 0', async () => {
    const answers: { status: number; ticketId?: string }[] = [];
    let refused = 0;
    let stop = false;
    const clients = Array.from({ length: 16 }, async () => {
      while (!stop) {
        try {
          const res = await fetch(`${baseUrl}/v1/coupons/C0001/issue-requests`, {
            method: 'POST',
            headers: { 'x-user-id': crypto.randomUUID() },
          });
          const body = (await res.json()) as { ticketId?: string };
          answers.push({ status: res.status, ticketId: body.ticketId });
        } catch {
          refused += 1; // the listener is closed: a client (or balancer) retries elsewhere
          if (api.child.exitCode !== null) return;
        }
      }
    });
    await waitFor(() => answers.length >= 200, { message: '200 answers before the signal' });
    api.signal('SIGTERM');

    await waitFor(
      async () => (await fetch(`${baseUrl}/readyz`).then((r) => r.status, () => 0)) === 503,
      { timeoutMs: 1_400, intervalMs: 20, message: 'readiness to turn 503 while still serving' },
    );
    const answeredWhileUnready = answers.length;
    expect(await api.exited).toBe(0);
    stop = true;
    await Promise.all(clients);

    expect(answers.length).toBeGreaterThan(answeredWhileUnready); // it kept serving during the delay
    expect(answers.filter((a) => a.status !== 202)).toEqual([]);
    const keys = couponKeys(env.config.REDIS_PREFIX, 'C0001');
    const queued = await Promise.all(answers.map((a) => env.redis.zscore(keys.pending, a.ticketId!)));
    expect(queued.filter((score) => score === null)).toEqual([]);
    expect(api.output()).toMatch(/API stopped/);
  });
});
