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
  ['before the commit', 'FAULT_DELAY_BEFORE_COMMIT_MS', /pausing before commit/, 'K0060', {}],
  ['after the commit, before resolving tickets', 'FAULT_DELAY_AFTER_COMMIT_MS', /pausing after commit/, 'K0060', {}],
  // Sharded queue: K0061 is in shard 3 of 4 (FNV-1a mod 4); the doomed worker holds its batched job there.
  ['before the commit, its job in shard 3 of QUEUE_SHARDS=4', 'FAULT_DELAY_BEFORE_COMMIT_MS', /pausing before commit/, 'K0061', { QUEUE_SHARDS: '4' }],
] as const)('a worker SIGKILLed mid-batch, %s', (_label, faultVariable, pauseAnnouncement, coupon, sharding) => {
  let event: LocalEvent;
  beforeEach(async () => {
    event = await startLocalEvent({
      coupon,
      limit: LIMIT,
      workers: 0,
      env: { BATCH_SIZE: '25', LOCK_LEASE_MS: '1500', STALLED_INTERVAL_MS: '1000', ...sharding },
    });
  });
  afterEach(() => event.stop());

  it('loses nothing and issues exactly the limit once each', async () => {
    const [doomed] = await event.addWorkers(1, { [faultVariable]: '60000' });
    const answered = await submitAll(event.baseUrl, coupon, distinctUsers(400), 16);
    await doomed!.waitForOutput(pauseAnnouncement);
    doomed!.signal('SIGKILL');
    await doomed!.exited;

    await event.addWorkers(2);
    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(await verifyEvent(event, coupon, answered, finalStatus)).toEqual(exactEvent(LIMIT));
  });
});
