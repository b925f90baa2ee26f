import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnvironment, type ServiceProcess, type TestEnvironment } from '@coupons/shared/testing';
import { createCoupon, distinctUsers, startApi, startWorkers, submitAll, verifyEvent, waitUntilAllFinal } from './event-harness.ts';

const LIMIT = 60;

/**
 * A worker SIGKILLed in the middle of a batch, at the two dangerous points: after reading the
 * batch but before the Postgres commit, and after the commit but before the tickets are
 * resolved in Redis. Replacement workers must finish the event with nothing lost, nothing
 * over, nothing twice.
 */
describe.each([
  ['before the commit', 'FAULT_DELAY_BEFORE_COMMIT_MS', /pausing before commit/],
  ['after the commit, before resolving tickets', 'FAULT_DELAY_AFTER_COMMIT_MS', /pausing after commit/],
])('a worker SIGKILLed mid-batch, %s', (_label, faultVariable, pauseAnnouncement) => {
  let env: TestEnvironment;
  let processes: ServiceProcess[] = [];

  beforeEach(async () => {
    env = await createTestEnvironment({ BATCH_SIZE: '25', LOCK_LEASE_MS: '1500', STALLED_INTERVAL_MS: '1000' });
    await createCoupon(env, 'K0060', LIMIT);
  });
  afterEach(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    processes = [];
    await env.cleanup();
  });

  it('loses nothing and issues exactly the limit once each', async () => {
    const api = await startApi(env);
    const [doomed] = await startWorkers(env, 1, { [faultVariable]: '60000' });
    processes.push(api.process, doomed!);

    const answered = await submitAll(api.baseUrl, 'K0060', distinctUsers(400), 16);
    await doomed!.waitForOutput(pauseAnnouncement);
    doomed!.signal('SIGKILL');
    await doomed!.exited;

    processes.push(...(await startWorkers(env, 2)));
    const finalStatus = await waitUntilAllFinal(env, 'K0060', answered);
    const verdict = await verifyEvent(env, 'K0060', answered, finalStatus);
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
