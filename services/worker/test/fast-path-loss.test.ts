import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 80;

/**
 * Redis loses the coupon's fast-path state in the middle of the event (issued count, sold-out
 * flag, per-user dedupe, arrival counter: deleted). Workers rebuild it from Postgres; users
 * who resubmit in the gap may get a second ticket, but never a second coupon, and the limit
 * stays exact.
 */
describe('fast-path state deleted mid-event', () => {
  let event: LocalEvent;
  beforeAll(async () => {
    event = await startLocalEvent({
      coupon: 'L0080',
      limit: LIMIT,
      workers: 2,
      env: { BATCH_SIZE: '10', FAULT_DELAY_BEFORE_COMMIT_MS: '250' },
    });
  });
  afterAll(() => event.stop());

  it('is rebuilt from Postgres and the event stays exact', async () => {
    const { env, processes } = event;
    const keys = couponKeys(env.config.REDIS_PREFIX, 'L0080');
    const early = distinctUsers(150);
    const firstWaveDone = submitAll(event.baseUrl, 'L0080', early, 16);
    const issuedSoFar = () =>
      env.db.selectFrom('coupon').select('issued_quantity').where('code', '=', 'L0080').executeTakeFirstOrThrow().then((c) => c.issued_quantity);
    await waitFor(async () => (await issuedSoFar()) > 0, { message: 'the first wallets', intervalMs: 10 });

    const rebuilds = () => processes.map((p) => p.output().match(/"coupon":"L0080".*fast-path state rebuilt/g)?.length ?? 0).reduce((a, b) => a + b);
    const rebuildsBefore = rebuilds();
    await env.redis.del(keys.meta, keys.users, keys.seq);
    expect(await issuedSoFar()).toBeLessThan(LIMIT); // mid-event indeed
    const firstWave = await firstWaveDone;

    // Everyone from the first wave tries again, and newcomers arrive.
    const secondWave = await submitAll(event.baseUrl, 'L0080', [...early, ...distinctUsers(150)], 16);
    const answered = [...firstWave, ...secondWave];
    const finalStatus = await waitUntilAllFinal(event, answered);
    // The dedupe went with the fast path: a second ticket is allowed, a second coupon never (the checker still fails one).
    expect(await verifyEvent(event, 'L0080', answered, finalStatus, { secondTicketsExpected: true })).toEqual(exactEvent(LIMIT));

    expect(rebuilds()).toBeGreaterThan(rebuildsBefore);
    // The mirror is back and agrees with Postgres: newcomers are told "sold out" at once.
    expect(await env.redis.hgetall(keys.meta)).toMatchObject({ issued: String(LIMIT), total: String(LIMIT), soldOut: '1' });
    const late = await submitAll(event.baseUrl, 'L0080', distinctUsers(3), 3);
    expect(late.map((a) => a.code)).toEqual(['SOLD_OUT', 'SOLD_OUT', 'SOLD_OUT']);
  });
});
