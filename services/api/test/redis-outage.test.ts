import { beforeAll, describe, expect, it } from 'vitest';
import { get, newUserId, requestCoupon, useTestApi } from './helpers.ts';
import { duringOutage, expectUnavailableWithin, useTcpProxy, waitUntilReady } from './outage.ts';

// The API reaches Redis through a proxy the tests cut; the environment's own connections
// (set-up, cleanup) go direct, so only the API sees the outage.
describe('Redis outage: 503 UNAVAILABLE, never a 500, never a hang', () => {
  const proxy = useTcpProxy('redis');
  const t = useTestApi({}, () => ({ redisPort: proxy.port }));
  const holder = { userId: newUserId(), ticketId: '' };

  beforeAll(async () => {
    holder.ticketId = (await requestCoupon(t, 'A0001', holder.userId)).body.ticketId;
  });

  // A partition is bounded by the API's Redis command timeout (2 s).
  describe.each([
    { outage: 'refuses connections', begin: () => proxy.cut() },
    { outage: 'is partitioned away', begin: () => proxy.freeze() },
  ])('while Redis $outage', ({ begin }) => {
    duringOutage(t, proxy, begin);

    it('answers an issue request with 503 UNAVAILABLE and Retry-After within 3 s', async () => {
      await expectUnavailableWithin(requestCoupon(t, 'A0001', newUserId()), 3_000);
    });

    it('answers a ticket poll with 503 UNAVAILABLE within 3 s', async () => {
      await expectUnavailableWithin(get(t, `/v1/tickets/${holder.ticketId}`, holder.userId), 3_000);
    });

    it('reports not ready, but stays alive and keeps serving what Postgres answers', async () => {
      const ready = await get(t, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { postgres: 'ok', redis: expect.stringMatching(/^unavailable/) } });
      expect((await get(t, '/healthz')).status).toBe(200);
      expect((await get(t, '/v1/coupons/A0001')).status).toBe(200);
    });
  });

  it('admits again and shows tickets once Redis is back', async () => {
    await waitUntilReady(t);
    expect((await requestCoupon(t, 'A0001', newUserId())).status).toBe(202);
    const ticket = await get(t, `/v1/tickets/${holder.ticketId}`, holder.userId);
    expect(ticket.status).toBe(200);
    expect(ticket.body.ticketId).toBe(holder.ticketId);
  });
});
