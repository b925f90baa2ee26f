// One slot per call, on a real Redis Cluster: every registered Lua script run through the one
// builder of its keys (couponScripts) for coupons whose hash tags land on all three primaries
// (a CROSSSLOT or "non local key" reply fails it), the keys the code builds checked against
// CLUSTER KEYSLOT, and the errors a settling cluster gives classified as "Redis unavailable"
// from the real error objects ioredis produces.
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys, couponScripts, forEachPrimary, isCluster, isRedisUnavailable, keySlot, primaryForKey, redisRefusal, SCRIPT_NAMES, type RedisClient } from '../src/redis/index.ts';
import { scriptSha1 } from '../src/redis/commands.ts';
import { connectRedis, redisTarget, StartupError } from '../src/runtime/index.ts';
import { createTestEnvironment, freePort, startRedisCluster, waitFor, type RedisClusterTopology, type TestEnvironment } from '../src/testing/index.ts';
import { loadConfig } from '../src/config/index.ts';

describe('Lua scripts and multi-key calls on a real Redis Cluster', () => {
  let topology: RedisClusterTopology;
  let env: TestEnvironment<RedisClient>;
  /** Coupon codes chosen so their `{CODE}` slots are served by every primary, two each. */
  const codes: string[] = [];

  beforeAll(async () => {
    topology = await startRedisCluster();
    env = await createTestEnvironment({}, { redisClusterNodes: topology.nodesEnv });
    expect(isCluster(env.redis)).toBe(true);
    const perPrimary = new Map<number, string[]>();
    for (let i = 1; [...perPrimary.values()].filter((list) => list.length >= 2).length < 3; i++) {
      const code = `K${String(i).padStart(4, '0')}`;
      const primary = await topology.primaryOfSlot(keySlot(couponKeys(env.config.REDIS_PREFIX, code).meta));
      const list = perPrimary.get(primary.port) ?? [];
      if (list.length < 2) codes.push(code);
      perPrimary.set(primary.port, [...list, code]);
    }
  }, 120_000);

  afterAll(async () => {
    await env?.cleanup({ deleteKeys: false });
    await topology?.close();
  });

  it('computes the slot of every key the code builds as Redis does (CLUSTER KEYSLOT), one slot per coupon', async () => {
    for (const code of codes) {
      const keys = couponKeys(env.config.REDIS_PREFIX, code);
      const all = [keys.users, keys.pending, keys.seq, keys.meta, keys.lock, keys.fence, keys.enqueued, `${keys.ticketPrefix}${randomUUID()}`];
      const slots = await Promise.all(all.map(async (key) => Number(await env.redis.cluster('KEYSLOT', key))));
      expect(new Set(slots).size).toBe(1);
      expect(all.map(keySlot)).toEqual(slots);
    }
    expect(keySlot('a{}b')).toBe(Number(await env.redis.cluster('KEYSLOT', 'a{}b')));
    expect(keySlot('{}{x}')).toBe(Number(await env.redis.cluster('KEYSLOT', '{}{x}')));
  });

  it('runs every registered script for coupons on all three primaries: no CROSSSLOT, no non-local key', async () => {
    const scripts = couponScripts(env.redis, env.config.REDIS_PREFIX);
    for (const code of codes) {
      await scripts.copyMirror(code, { total: 2, issued: 0, decidedSeq: 0, run: 'active', runVersion: 0 });
      expect(await scripts.setRunState(code, 'active', 1, 60)).toBe(1);
      const users = [randomUUID(), randomUUID(), randomUUID()];
      const admitted = [];
      for (const userId of users) {
        admitted.push(
          await scripts.admit({ couponCode: code, userId, ticketId: randomUUID(), maxBacklog: 100, startsAt: new Date(0), endsAt: null, decidedSeqFloor: 0, runVersionFloor: 1 }),
        );
      }
      expect(admitted.map((result) => result.outcome)).toEqual(['admitted', 'admitted', 'admitted']);
      expect(await scripts.markEnqueued(code, 3)).toBeGreaterThanOrEqual(0);
      expect(await scripts.admissionFigures([code, ...codes.filter((other) => other !== code).slice(0, 2)])).toHaveLength(3);
      expect(await scripts.ticketsProgress(code, admitted.map((result) => result.ticketId))).toEqual(['queued', 'queued', 'queued']);

      const fence = await scripts.acquireLock(code, 'holder', 5_000);
      expect(fence).toBeGreaterThan(0);
      expect(await scripts.renewLock(code, 'holder', 5_000)).toBe(1);
      expect((await scripts.readBatch(code, 10)).length).toBeGreaterThan(0);
      const now = Date.now();
      const [winner, second, loser] = admitted;
      const resolved = await scripts.resolve(code, 60, {
        issued: 2,
        total: 2,
        decidedSeq: 3,
        issuedBefore: 0,
        decidedSeqBefore: 0,
        outcomes: [
          winner!.ticketId, 'issued', '', `${winner!.ticketId}|${now}|${users[0]}`,
          second!.ticketId, 'issued', '', `${second!.ticketId}|${now}|${users[1]}`,
          loser!.ticketId, 'rejected', 'SOLD_OUT', '',
        ],
      });
      expect(resolved).toBe(3);
      expect(await scripts.releaseLock(code, 'holder')).toBe(1);
      await scripts.raiseFence(code, fence + 1);
      await scripts.raiseSeq(code, 3);
      expect((await scripts.readMirror(code)).issued).toBe(2);
      await scripts.flagMirrorStale(code);
      expect(await scripts.restoreWalletTickets(code, 60, [{ walletId: randomUUID(), userId: randomUUID(), issuedAtMs: now }])).toBe(1);
      await scripts.retire(code, 60);
    }
    // Each script ran on every primary (EVALSHA, then EVAL where the node lacked it): all cached there.
    const shas = SCRIPT_NAMES.map(scriptSha1);
    const cached = await forEachPrimary(env.redis, (node) => node.script('EXISTS', ...shas) as Promise<number[]>);
    expect(cached).toEqual([0, 1, 2].map(() => shas.map(() => 1)));
  });

  it('classifies TRYAGAIN (a multi-key command while its slot migrates) as Redis unavailable, raw and after the client gave up', async () => {
    const code = codes[0]!;
    const keys = couponKeys(env.config.REDIS_PREFIX, code);
    await env.redis.set(keys.lock, 'a');
    await env.redis.set(keys.fence, '1');
    const slot = keySlot(keys.lock);
    const roles = await topology.roles();
    const source = roles.find((role) => role.role === 'master' && role.slots.some(([from, to]) => slot >= from && slot <= to))!;
    const target = roles.find((role) => role.role === 'master' && role !== source)!;
    const sourceClient = new Redis(source.node.port, '127.0.0.1');
    const targetClient = new Redis(target.node.port, '127.0.0.1');
    try {
      // Half a migration: one of the two keys already moved (MIGRATE), the other still on the source.
      await targetClient.cluster('SETSLOT', slot, 'IMPORTING', source.id);
      await sourceClient.cluster('SETSLOT', slot, 'MIGRATING', target.id);
      await sourceClient.migrate('127.0.0.1', target.node.port, keys.lock, 0, 5_000);
      const raw = await sourceClient.mget(keys.lock, keys.fence).catch((error: unknown) => error);
      expect(redisRefusal(raw)).toBe('TRYAGAIN');
      expect(isRedisUnavailable(raw)).toBe(true);

      const impatient = new Cluster([{ host: '127.0.0.1', port: source.node.port }], { maxRedirections: 3, retryDelayOnTryAgain: 10 });
      impatient.on('error', () => {});
      try {
        const gaveUp = await impatient.mget(keys.lock, keys.fence).catch((error: unknown) => error);
        expect((gaveUp as Error).message).toMatch(/^Too many Cluster redirections/);
        expect(isRedisUnavailable(gaveUp)).toBe(true);
      } finally {
        impatient.disconnect();
      }
    } finally {
      // The resharding finished (the second key moves too, the slot is the target's): the client follows MOVED.
      // Every key left in the slot moves (earlier tests may have left the coupon's other keys there):
      // a source still holding keys of the slot refuses SETSLOT NODE.
      for (;;) {
        const left = (await sourceClient.cluster('GETKEYSINSLOT', slot, 100)) as string[];
        if (left.length === 0) break;
        for (const key of left) await sourceClient.migrate('127.0.0.1', target.node.port, key, 0, 5_000);
      }
      await targetClient.cluster('SETSLOT', slot, 'NODE', target.id);
      await sourceClient.cluster('SETSLOT', slot, 'NODE', target.id);
      sourceClient.disconnect();
      targetClient.disconnect();
    }
    await topology.waitUntilOk();
    expect((await topology.primaryOfSlot(slot)).port).toBe(target.node.port);
    expect(await env.redis.mget(keys.lock, keys.fence)).toEqual(['a', '1']);
  });

  it('classifies CLUSTERDOWN (a slot nobody serves) as Redis unavailable', async () => {
    const key = couponKeys(env.config.REDIS_PREFIX, codes[1]!).meta;
    const slot = keySlot(key);
    const owner = await topology.primaryOfSlot(slot);
    const ownerClient = new Redis(owner.port, '127.0.0.1');
    try {
      // The owner forgets the slot: with cluster-require-full-coverage it answers CLUSTERDOWN.
      await ownerClient.cluster('DELSLOTS', slot);
      const refused = await ownerClient.get(key).catch((error: unknown) => error);
      expect(redisRefusal(refused)).toBe('CLUSTERDOWN');
      expect(isRedisUnavailable(refused)).toBe(true);
    } finally {
      await ownerClient.cluster('ADDSLOTS', slot);
      ownerClient.disconnect();
    }
    await topology.waitUntilOk();
  });

  it('classifies the Cluster client without any reachable node as Redis unavailable; connectRedis names the nodes', async () => {
    const port = await freePort();
    // Offline queue off (the API): refused at once while no slot map is known.
    const nowhere = new Cluster([{ host: '127.0.0.1', port }], { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null });
    const events: unknown[] = [];
    nowhere.on('error', (error) => events.push(error));
    const notReady = await nowhere.get('x').catch((error: unknown) => error);
    expect((notReady as Error).message).toBe("Cluster isn't ready and enableOfflineQueue options is false");
    expect(isRedisUnavailable(notReady)).toBe(true);
    await waitFor(() => events.length > 0, { timeoutMs: 5_000, message: 'the slot refresh to fail' });
    expect((events[0] as Error).name).toBe('ClusterAllFailedError');
    expect(isRedisUnavailable(events[0])).toBe(true);
    nowhere.disconnect();
    // Offline queue on (the worker): queued, then failed once the client gives up reconnecting.
    const givingUp = new Cluster([{ host: '127.0.0.1', port }], { clusterRetryStrategy: (attempt) => (attempt > 2 ? null : 10) });
    givingUp.on('error', () => {});
    const none = await givingUp.get('x').catch((error: unknown) => error);
    expect((none as Error).message).toBe('None of startup nodes is available');
    expect(isRedisUnavailable(none)).toBe(true);
    givingUp.disconnect();

    const config = loadConfig({ REDIS_CLUSTER_NODES: `127.0.0.1:${port}` });
    const failure = await connectRedis(redisTarget(config), {}, 1_000).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toContain(`Cannot reach the Redis Cluster through the nodes 127.0.0.1:${port}`);
  });

  it('finds the primary of a key for what must run there (WAIT, SCAN): the node the slot map names', async () => {
    const key = couponKeys(env.config.REDIS_PREFIX, codes[2]!).pending;
    const found = primaryForKey(env.redis, key);
    expect(found).toBeDefined();
    expect(found!.node.options.port).toBe((await topology.primaryOfSlot(keySlot(key))).port);
  });
});
