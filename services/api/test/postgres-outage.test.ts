import { describe, expect, it } from 'vitest';
import { expectRetryLater, get, newUserId, requestCoupon, useTestApi } from './helpers.ts';
import { duringOutage, expectUnavailableWithin, useTcpProxy, waitUntilReady } from './outage.ts';

// The API reaches Postgres through a proxy the tests cut; the environment's own pool
// (set-up, cleanup) goes direct, so only the API sees the outage.
describe('Postgres outage: 503 UNAVAILABLE, never a 500, never a hang', () => {
  const proxy = useTcpProxy('postgres');
  const t = useTestApi({}, () => ({ postgresPort: proxy.port }));

  describe('while Postgres refuses connections', () => {
    duringOutage(t, proxy, () => proxy.cut());

    it.each([
      { path: '/v1/me/coupons', userId: newUserId() },
      { path: '/v1/coupons' },
      { path: '/v1/coupons/A0001' },
    ])('answers GET $path with 503 UNAVAILABLE and Retry-After within 3 s', async ({ path, userId }) => {
      await expectUnavailableWithin(get(t, path, userId), 3_000);
    });

    it('answers an issue request for a code it cannot look up with 503, not 404', async () => {
      expectRetryLater(await requestCoupon(t, 'ZZZZ9', newUserId()), 'UNAVAILABLE');
    });

    it('keeps admitting known coupons: admission needs only Redis', async () => {
      expect((await requestCoupon(t, 'A0001', newUserId())).status).toBe(202);
    });

    it('reports not ready', async () => {
      const ready = await get(t, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { redis: 'ok', postgres: expect.stringMatching(/^unavailable/) } });
    });
  });

  // Without pg's client-side `query_timeout` (set by createDb), a query sent on a pooled
  // connection into a partition would wait for TCP to give up (minutes), and so would the request.
  describe('while Postgres is partitioned away', () => {
    duringOutage(t, proxy, () => proxy.freeze());

    it('answers GET /v1/me/coupons with 503 UNAVAILABLE instead of hanging', async () => {
      await expectUnavailableWithin(get(t, '/v1/me/coupons', newUserId()), 8_000);
    });
  });

  it('serves the wallet again once Postgres is back', async () => {
    await waitUntilReady(t);
    const res = await get(t, '/v1/me/coupons', newUserId());
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });
});
