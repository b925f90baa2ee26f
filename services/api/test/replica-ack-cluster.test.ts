// The durable-admission confirmer on a real Redis Cluster (six local nodes): each admission's
// writes are confirmed on the primary of every slot it wrote (WAIT on that node), the data is on
// that primary's replica once confirmed, a killed primary gives 503s (never a confirmation), and
// once its replica is promoted and the killed node is back as a replica, admissions confirm again.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { couponKeys, keySlot, queueWaitListKey, replicaAckMarkerKey, type RedisClient } from '@coupons/shared/redis';
import { connectRedis, type RedisTarget } from '@coupons/shared/runtime';
import { startRedisCluster, waitFor, type RedisClusterTopology } from '@coupons/shared/testing';
import { ReplicaAck, ReplicaAckError } from '../src/admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from '../src/redis-options.ts';

const PREFIX = 'ack';
const TIMEOUT_MS = 200;

describe('ReplicaAck on a Redis Cluster (ADMISSION_DURABILITY=replica, REDIS_CLUSTER_NODES)', () => {
  let topology: RedisClusterTopology;
  let admission: RedisClient;
  let queue: RedisClient;
  let ackConnection: RedisClient;
  let ack: ReplicaAck;

  beforeAll(async () => {
    topology = await startRedisCluster();
    const target: RedisTarget = { url: 'redis://127.0.0.1', clusterNodes: topology.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) };
    admission = await connectRedis(target, apiRedisOptions());
    queue = await connectRedis(target, apiRedisOptions());
    ackConnection = await connectRedis(target, replicaAckRedisOptions(TIMEOUT_MS));
    for (const redis of [admission, queue, ackConnection]) redis.on('error', () => {});
    ack = new ReplicaAck({
      ackConnection,
      writeConnections: [admission, queue],
      timeoutMs: TIMEOUT_MS,
      retryAfterSeconds: 1,
      channel: `${PREFIX}:replica-ack`,
      cluster: {
        slotKeys: (code) => [couponKeys(PREFIX, code).meta, queueWaitListKey(PREFIX)],
        markerKey: (slotKey) => replicaAckMarkerKey(PREFIX, slotKey),
      },
    });
    await ack.ready();
  }, 120_000);
  afterAll(async () => {
    ack?.close();
    for (const redis of [admission, queue, ackConnection]) redis?.disconnect();
    await topology?.close();
  });

  /** What an admission does: the coupon's write, the queue's write, then the confirmation. */
  async function admit(code: string, i: number): Promise<void> {
    const token = ack.begin(code);
    await admission.set(`${couponKeys(PREFIX, code).ticketPrefix}${i}`, 'queued');
    await queue.rpush(queueWaitListKey(PREFIX), `${code}:${i}`);
    await ack.confirmReplicated(token);
  }

  /** Codes whose `{CODE}` slots are served by each primary in turn. */
  async function codeOnEachPrimary(): Promise<string[]> {
    const byPrimary = new Map<number, string>();
    for (let i = 0; byPrimary.size < 3; i++) {
      const code = `W${i}`;
      const port = (await topology.primaryOfSlot(keySlot(couponKeys(PREFIX, code).meta))).port;
      if (!byPrimary.has(port)) byPrimary.set(port, code);
    }
    return [...byPrimary.values()];
  }

  it('confirms admissions on every primary, and the replicas have them once confirmed', async () => {
    const codes = await codeOnEachPrimary();
    const failures: string[] = [];
    await Promise.all(codes.flatMap((code) => Array.from({ length: 200 }, (_, i) => admit(code, i).catch((error: ReplicaAckError) => void failures.push(error.reason ?? error.message)))));
    expect([...new Set(failures)]).toEqual([]);
    expect(ack.stats.failed).toBe(0);
    expect(ack.stats.confirmed).toBe(600);
    // Group commit per primary: far fewer rounds than admissions.
    expect(ack.stats.rounds).toBeLessThan(600 / 5);
    // Each coupon's last ticket is on the replica of its primary already (read there with READONLY).
    const roles = await topology.roles();
    for (const code of codes) {
      const key = `${couponKeys(PREFIX, code).ticketPrefix}199`;
      const primaryId = roles.find((role) => role.node === (roles.find((r) => r.role === 'master' && r.slots.some(([from, to]) => keySlot(key) >= from && keySlot(key) <= to))!.node))!.id;
      const replica = roles.find((role) => role.role === 'slave' && role.masterId === primaryId)!;
      const reader = new Redis(replica.node.port, '127.0.0.1');
      try {
        await reader.readonly();
        expect(await reader.get(key)).toBe('queued');
      } finally {
        reader.disconnect();
      }
    }
  }, 60_000);

  it('503s while the coupon primary is dead, and confirms again once its replica is promoted and the killed node is back as a replica', async () => {
    const [code] = await codeOnEachPrimary();
    const victim = await topology.primaryOfSlot(keySlot(couponKeys(PREFIX, code!).meta));
    await topology.kill(victim);
    // No confirmation while the slot's primary is gone (the write itself may fail too: either way, never a confirmation).
    const during = await admit(code!, 1_000).then(
      () => 'confirmed',
      (error: Error) => (error instanceof ReplicaAckError ? 'ReplicaAckError' : 'write failed'),
    );
    expect(during).not.toBe('confirmed');
    await topology.waitForPromotion(victim, 90_000).catch(async (error: Error) => {
      for (const node of topology.nodes.filter((n) => n.running)) {
        console.log(`:${node.port} CLUSTER NODES\n${String(await node.call('CLUSTER', 'NODES').catch((e: Error) => e.message))}\n${await node.logTail(12)}`);
      }
      throw error;
    });
    await victim.restart();
    await waitFor(async () => (await topology.roles()).some((role) => role.node === victim && role.role === 'slave') && (await victim.info('replication')).master_link_status === 'up', { timeoutMs: 60_000, message: 'the killed node back as a replica' });
    const reasons: string[] = [];
    await waitFor(
      () =>
        admit(code!, 2_000 + reasons.length).then(
          () => true,
          (error: Error) => {
            reasons.push((error as ReplicaAckError).reason ?? error.message);
            return false;
          },
        ),
      { timeoutMs: 60_000, intervalMs: 200, message: 'an admission confirmed after the failover' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last reasons: ${reasons.slice(-5).join(' | ')}`);
    });
    console.log(`[replica ack on a cluster] refused ${reasons.length} times after the failover before confirming again: ${[...new Set(reasons)].slice(0, 5).join(' | ')}`);
  }, 240_000);
});
