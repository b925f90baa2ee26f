import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys } from '@coupons/shared/redis';
import { startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import { distinctUsers, exactEvent, startLocalEvent, submit, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 60;

/**
 * Redis restarts in the middle of an event (its own redis-server with an append-only file,
 * never the shared one). While it is down the API answers 503 UNAVAILABLE at once, never a
 * 500 and never a hang; afterwards API and workers reconnect on their own and finish the event
 * exactly.
 */
describe.each(['SIGTERM', 'SIGKILL'] as const)('Redis restarted mid-event (%s)', (signal) => {
  let redis: RedisServer;
  let event: LocalEvent;
  beforeAll(async () => {
    redis = await startRedisServer({ appendfsync: 'always' });
    event = await startLocalEvent({
      coupon: 'X0060',
      limit: LIMIT,
      workers: 2,
      // Slow batches (10 per 250 ms), so the first wave is still being decided when Redis goes, however
      // slowly a loaded machine sends it.
      env: { REDIS_URL: redis.url, BATCH_SIZE: '10', FAULT_DELAY_BEFORE_COMMIT_MS: '250', LOCK_LEASE_MS: '2000' },
    });
  });
  afterAll(async () => {
    await event.stop();
    await redis.close();
  });

  it('answers 503 while down, reconnects by itself, and stays exact', async () => {
    const firstWave = await submitAll(event.baseUrl, 'X0060', distinctUsers(150), 16);
    // Mid-event indeed: the workers still have tickets to decide when Redis goes.
    expect(await event.env.redis.zcard(couponKeys(event.env.config.REDIS_PREFIX, 'X0060').pending)).toBeGreaterThan(0);
    await redis.stop(signal);

    const whileDown = await submit(event.baseUrl, 'X0060', crypto.randomUUID());
    expect(whileDown.status).toBe(503);
    expect(whileDown.code).toBe('UNAVAILABLE');
    expect(whileDown.answeredAt! - whileDown.sentAt).toBeLessThan(3_000);

    await redis.restart();
    // The API reconnects by itself (no restart of any process).
    await waitFor(async () => (await submit(event.baseUrl, 'X0060', crypto.randomUUID())).status < 500, {
      message: 'the API to answer again after Redis came back',
    });
    const secondWave = await submitAll(event.baseUrl, 'X0060', distinctUsers(100), 16);
    const answered = [...firstWave, ...secondWave];
    // The workers reconnect by themselves and finish the event.
    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(await verifyEvent(event, 'X0060', answered, finalStatus)).toEqual(exactEvent(LIMIT));
    expect(event.processes.every((p) => p.child.exitCode === null)).toBe(true);
  });
});
