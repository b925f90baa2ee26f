// The coupon-change announcements (redis/coupon-changes.ts): one subscription per process, on a
// connection from the one factory, direct or through Sentinel, that survives a failover.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { CouponChangeSubscription, publishCouponChange } from '../src/redis/index.ts';
import { connectRedis, type OneServerTarget } from '../src/runtime/index.ts';
import { startSentinelTopology, testRedisUrl, waitFor, type SentinelTopology } from '../src/testing/index.ts';

const SUBSCRIBER = { autoResubscribe: false, maxRetriesPerRequest: null } as const;

/** What a subscription heard: codes, and `undefined` for each resubscription. */
function listener() {
  const heard: (string | undefined)[] = [];
  return { heard, onChange: (code: string | undefined) => void heard.push(code) };
}

describe('coupon-change announcements', () => {
  const prefix = `changes-test-${randomUUID().slice(0, 8)}`;
  const connections: Redis[] = [];
  afterAll(() => connections.forEach((connection) => connection.disconnect()));

  it('deliver each announced code to every subscribed process, only on their own prefix', async () => {
    const publisher = await connectRedis(testRedisUrl());
    connections.push(publisher);
    const [one, two, other] = [listener(), listener(), listener()];
    const subscriptions = await Promise.all([
      CouponChangeSubscription.start(await connectRedis(testRedisUrl(), SUBSCRIBER), prefix, one.onChange),
      CouponChangeSubscription.start(await connectRedis(testRedisUrl(), SUBSCRIBER), prefix, two.onChange),
      CouponChangeSubscription.start(await connectRedis(testRedisUrl(), SUBSCRIBER), `${prefix}-other`, other.onChange),
    ]);
    expect(await publishCouponChange(publisher, prefix, 'D0001')).toBe(2);
    await waitFor(() => one.heard.length === 1 && two.heard.length === 1, { message: 'both subscribers to hear D0001' });
    expect([one.heard, two.heard, other.heard]).toEqual([['D0001'], ['D0001'], []]);
    for (const subscription of subscriptions) subscription.stop();
    // Stopped: the connections close (the server notices within moments), and nobody hears any more.
    await waitFor(async () => (await publishCouponChange(publisher, prefix, 'D0002')) === 0, { message: 'no subscriber left' });
    expect([one.heard, two.heard]).toEqual([['D0001'], ['D0001']]);
  });

  describe('through Sentinel', () => {
    let topology: SentinelTopology;
    let target: OneServerTarget;
    beforeAll(async () => {
      topology = await startSentinelTopology({ name: 'changes' });
      target = { url: 'redis://127.0.0.1:6379', sentinels: topology.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), sentinelName: topology.name };
    }, 60_000);
    afterAll(() => topology?.close());

    it('hears announcements before and after the primary is SIGKILLed, and says when it resubscribed', async () => {
      const publisher = await connectRedis(target, { maxRetriesPerRequest: null });
      connections.push(publisher);
      const { heard, onChange } = listener();
      const subscription = await CouponChangeSubscription.start(await connectRedis(target, SUBSCRIBER), prefix, onChange);
      await publishCouponChange(publisher, prefix, 'S0001');
      await waitFor(() => heard.includes('S0001'), { message: 'S0001 before the failover' });

      const killed = await topology.killPrimary();
      expect(await topology.waitForFailover()).not.toBe(killed.port);
      // Back on the new primary: subscribed again, and told so (whatever was sent meanwhile is lost).
      await waitFor(() => heard.includes(undefined), { timeoutMs: 30_000, message: 'the resubscription after the failover' });
      await waitFor(async () => (await publishCouponChange(publisher, prefix, 'S0002')) === 1, { timeoutMs: 30_000, message: 'the publisher and subscriber on the new primary' });
      await waitFor(() => heard.includes('S0002'), { message: 'S0002 after the failover' });
      subscription.stop();
    }, 90_000);
  });
});
