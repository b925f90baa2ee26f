// The local Redis Cluster the cluster tests run on: six real redis-server processes joined by
// redis-cli, a client that follows the slots, and a primary SIGKILLed and replaced by its replica.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterTopology } from '../src/testing/index.ts';

describe('a local Redis Cluster (three primaries, a replica each)', () => {
  let topology: RedisClusterTopology;
  let client: Cluster;

  beforeAll(async () => {
    topology = await startRedisCluster();
    client = new Cluster(topology.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })), {
      clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
      redisOptions: { maxRetriesPerRequest: 5 },
    });
    client.on('error', () => {});
  }, 120_000);

  afterAll(async () => {
    client?.disconnect();
    await topology?.close();
  });

  it('serves every slot from three primaries, each with a replica', async () => {
    const roles = await topology.roles();
    const primaries = roles.filter((role) => role.role === 'master');
    expect(primaries).toHaveLength(3);
    expect(roles.filter((role) => role.role === 'slave')).toHaveLength(3);
    const slots = primaries.flatMap((role) => role.slots).reduce((sum, [from, to]) => sum + to - from + 1, 0);
    expect(slots).toBe(16_384);
  });

  it('keeps acknowledged writes when a primary is SIGKILLed and its replica promoted', async () => {
    // Keys on all three primaries; WAIT for the replica so none is lost to asynchronous replication.
    const keys = Array.from({ length: 30 }, (_, i) => `cluster-test:{tag-${i}}`);
    for (const key of keys) await client.set(key, key);
    const slot = Number(await client.cluster('KEYSLOT', keys[0]!));
    const victim = await topology.primaryOfSlot(slot);
    const victimNode = client.nodes('master').find((node) => node.options.port === victim.port)!;
    expect(await victimNode.call('WAIT', 1, 5_000)).toBeGreaterThanOrEqual(1);

    await topology.kill(victim);
    const promoted = await topology.waitForPromotion(victim);
    expect(promoted).not.toBe(victim);
    expect((await topology.primaryOfSlot(slot)).port).toBe(promoted.port);

    const values = await Promise.all(keys.map((key) => client.get(key)));
    expect(values).toEqual(keys);
  }, 120_000);
});
