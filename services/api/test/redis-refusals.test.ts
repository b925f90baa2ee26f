import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockWithScript, demoteToReplica, exhaustMemory, requireReplicas, startRedisServer, type RedisServer, type Refusal,
} from '@coupons/shared/testing';
import { couponKeys } from '@coupons/shared/redis';
import type { Redis } from 'ioredis';
import { connectRedis } from '@coupons/shared/runtime';
import { dependencyDown } from '../src/errors/dependency-failure.ts';
import { apiRedisOptions } from '../src/redis-options.ts';
import { startTestApi } from './api-harness.ts';
import { expectRetryLater, get, newUserId, requestCoupon, useBeforeAll } from './helpers.ts';
import { expectUnavailableWithin, waitUntilReady } from './outage.ts';

/**
 * Redis is up but refuses: each refusal made for real on the API's own redis-server. Requests
 * that need a write get 503 UNAVAILABLE with Retry-After, never a 500; reads are answered
 * whenever Redis still serves them; readiness reports it; and all is well once Redis is.
 */
describe('Redis refusing commands: 503 UNAVAILABLE, never a 500', () => {
  const redis = useBeforeAll(() => startRedisServer(), (server) => server.close());
  const t = useBeforeAll(() => startTestApi({ REDIS_URL: redis.url }), (api) => api.close());
  const holder = { userId: newUserId(), ticketId: '' };

  beforeAll(async () => {
    // The coupon's Redis mirror as a worker's heal leaves it for an untouched coupon (no worker runs here).
    await t.env.redis.hset(couponKeys(t.env.config.REDIS_PREFIX, 'A0001').meta, { total: 300, issued: 0, soldOut: '0', decidedSeq: 0 });
    const first = await requestCoupon(t, 'A0001', holder.userId);
    expect(first.status).toBe(202);
    holder.ticketId = first.body.ticketId;
  });

  describe.each([
    { make: exhaustMemory, code: 'OOM', readsServed: true },
    { make: requireReplicas, code: 'NOREPLICAS', readsServed: true },
    { make: demoteToReplica, code: 'READONLY', readsServed: true },
    { make: blockWithScript, code: 'BUSY', readsServed: false },
  ])('while Redis answers $code', ({ make, code, readsServed }) => {
    let refusal: Refusal & { promoted?: RedisServer };
    let production: Redis;
    beforeAll(async () => {
      // Connected before Redis refuses, as a running API is.
      production = await connectRedis(redis.url, apiRedisOptions());
      production.on('error', () => {});
      refusal = await make(redis);
    });
    afterAll(async () => {
      production.disconnect();
      await refusal.undo();
      await refusal.promoted?.close();
      await waitUntilReady(t);
    });

    it('answers an issue request with 503 UNAVAILABLE and Retry-After at once', async () => {
      await expectUnavailableWithin(requestCoupon(t, 'A0001', newUserId()), 1_000);
    });

    it(readsServed ? 'still answers a ticket poll (a read Redis serves)' : 'answers a ticket poll with 503 UNAVAILABLE', async () => {
      const poll = await get(t, `/v1/tickets/${holder.ticketId}`, holder.userId);
      if (readsServed) {
        expect(poll.status).toBe(200);
        expect(poll.body).toMatchObject({ ticketId: holder.ticketId, status: 'queued' });
      } else {
        expectRetryLater(poll, 'UNAVAILABLE');
      }
    });

    // main.ts connects through the shared factory, which adds READONLY reconnect-and-resend: the
    // error a request sees may then be ioredis's, not the reply. Either way: Redis, and at once.
    it('fails a write fast, with an error classified as Redis, through the production connection options', async () => {
      const started = performance.now();
      const error = await production.set('refusal-probe', '1').then(() => undefined, (e: Error) => e);
      expect(dependencyDown(error)).toBe('Redis');
      expect(performance.now() - started).toBeLessThan(3_000);
    });

    it('reports not ready, with Retry-After and the refusal, and stays alive', async () => {
      const ready = await get(t, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { postgres: 'ok', redis: expect.stringMatching(new RegExp(`^unavailable: ${code} `)) } });
      expect((await get(t, '/healthz')).status).toBe(200);
    });
  });

  it('admits again, and the earlier ticket is intact, once Redis accepts writes', async () => {
    await waitUntilReady(t);
    expect((await requestCoupon(t, 'A0001', newUserId())).status).toBe(202);
    const again = await requestCoupon(t, 'A0001', holder.userId);
    expect({ status: again.status, ticketId: again.body.ticketId }).toEqual({ status: 200, ticketId: holder.ticketId });
  });
});
