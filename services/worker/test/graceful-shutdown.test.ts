import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 50;

/**
 * SIGTERM in the middle of a batch (what Kubernetes sends before it removes a pod): the worker
 * finishes the batch it is in, hands its other jobs back, and exits 0. Another worker finishes
 * the event; nothing is lost.
 */
describe('a worker stopped with SIGTERM mid-batch', () => {
  let event: LocalEvent;
  beforeAll(async () => {
    event = await startLocalEvent({ coupon: 'G0050', limit: LIMIT, workers: 0, env: { BATCH_SIZE: '20' } });
  });
  afterAll(() => event.stop());

  it('finishes its batch, hands the rest back, exits cleanly', async () => {
    const [stopping] = await event.addWorkers(1, { FAULT_DELAY_BEFORE_COMMIT_MS: '1500' });
    const answered = await submitAll(event.baseUrl, 'G0050', distinctUsers(300), 16);
    await stopping!.waitForOutput(/pausing before commit/);
    stopping!.signal('SIGTERM');

    expect(await stopping!.exited).toBe(0);
    expect(stopping!.output()).toMatch(/worker stopped/);
    // The batch it was in the middle of was written, not abandoned.
    const coupon = await event.env.db.selectFrom('coupon').select('issued_quantity').where('code', '=', 'G0050').executeTakeFirstOrThrow();
    expect(coupon.issued_quantity).toBeGreaterThan(0);

    await event.addWorkers(1);
    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(await verifyEvent(event, 'G0050', answered, finalStatus)).toEqual(exactEvent(LIMIT));
  });
});
