import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

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
  let event: LocalEvent;
  beforeEach(async () => {
    event = await startLocalEvent({
      coupon: 'K0060',
      limit: LIMIT,
      workers: 0,
      env: { BATCH_SIZE: '25', LOCK_LEASE_MS: '1500', STALLED_INTERVAL_MS: '1000' },
    });
  });
  afterEach(() => event.stop());

  it('loses nothing and issues exactly the limit once each', async () => {
    const [doomed] = await event.addWorkers(1, { [faultVariable]: '60000' });
    const answered = await submitAll(event.baseUrl, 'K0060', distinctUsers(400), 16);
    await doomed!.waitForOutput(pauseAnnouncement);
    doomed!.signal('SIGKILL');
    await doomed!.exited;

    await event.addWorkers(2);
    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(await verifyEvent(event, 'K0060', answered, finalStatus)).toEqual(exactEvent(LIMIT));
  });
});
