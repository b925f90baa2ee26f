import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectRedis } from '@coupons/shared/runtime';
import { startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import { ReplicaAck, ReplicaAckError } from '../src/admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from '../src/redis-options.ts';

const TIMEOUT_MS = 200;

/**
 * The durable-admission confirmer against a real primary and replica (private redis-servers,
 * AOF on): group commit (one WAIT covers every admission in flight), 503 when the replica does
 * not answer in time, and no false confirmation after a write connection reconnected.
 */
describe('ReplicaAck (ADMISSION_DURABILITY=replica)', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let admission: Redis;
  let queue: Redis;
  let ackConnection: Redis;
  let ack: ReplicaAck;

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
    await waitFor(async () => (await replica.info('replication')).master_link_status === 'up', { message: 'the replica to sync' });
    admission = await connectRedis(primary.url, apiRedisOptions());
    queue = await connectRedis(primary.url, apiRedisOptions());
    ackConnection = await connectRedis(primary.url, replicaAckRedisOptions(TIMEOUT_MS));
    for (const redis of [admission, queue, ackConnection]) redis.on('error', () => {});
    ack = new ReplicaAck({ ackConnection, writeConnections: [admission, queue], timeoutMs: TIMEOUT_MS, retryAfterSeconds: 2, channel: 'test:replica-ack' });
    await ack.ready();
  });
  afterAll(async () => {
    ack?.close();
    for (const redis of [admission, queue, ackConnection]) redis?.disconnect();
    await Promise.all([primary?.close(), replica?.close()]);
  });

  /** What an admission does: a write on each connection, then the confirmation. */
  async function admit(i: number): Promise<void> {
    const token = ack.begin();
    await admission.set(`t:ticket:${i}`, 'queued');
    await queue.rpush('t:queue', String(i));
    await ack.confirmReplicated(token);
  }

  it('confirms thousands of concurrent admissions with a few WAITs, and the replica has every one', async () => {
    const before = { ...ack.stats };
    const count = 3_000;
    const started = performance.now();
    await Promise.all(Array.from({ length: count }, (_, i) => admit(i)));
    const elapsed = performance.now() - started;
    const rounds = ack.stats.rounds - before.rounds;
    expect(ack.stats.confirmed - before.confirmed).toBe(count);
    expect(ack.stats.failed - before.failed).toBe(0);
    // Group commit: far fewer rounds than admissions (serially it would be one WAIT each).
    expect(rounds).toBeLessThan(count / 10);
    // Every confirmed write is on the replica already (no waiting: that is what was confirmed).
    const replicaClient = await connectRedis(replica.url);
    try {
      expect(await replicaClient.llen('t:queue')).toBe(count);
      expect(await replicaClient.exists(`t:ticket:0`, `t:ticket:${count - 1}`)).toBe(2);
    } finally {
      replicaClient.disconnect();
    }
    console.log(`replica-ack: ${count} admissions confirmed in ${Math.round(elapsed)} ms with ${rounds} WAIT rounds`);
  });

  it('answers 503 UNAVAILABLE (Retry-After) when no replica confirms in time, and recovers', async () => {
    const pid = replica.pid!;
    process.kill(pid, 'SIGSTOP');
    let error: unknown;
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => admit(10_000 + i))).catch((e: unknown) => (error = e));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(error).toBeInstanceOf(ReplicaAckError);
    expect((error as ReplicaAckError).status).toBe(503);
    expect((error as ReplicaAckError).code).toBe('UNAVAILABLE');
    expect((error as ReplicaAckError).headers['Retry-After']).toBe('2');
    expect((error as ReplicaAckError).reason).toMatch(/0 replica\(s\) acknowledged within 200 ms/);
    // Two rounds at most (the one in flight, then the one everybody joined), never one per admission.
    expect(performance.now() - started).toBeLessThan(2 * TIMEOUT_MS + 1_000);
    await waitFor(() => admit(20_000).then(() => true, () => false), { message: 'confirmations once the replica is back' });
  });

  it('does not confirm a write made on a connection that has reconnected since begin()', async () => {
    const token = ack.begin();
    await admission.set('t:before-reconnect', '1');
    const reconnected = once(admission, 'ready');
    admission.disconnect(true);
    await reconnected;
    await expect(ack.confirmReplicated(token)).rejects.toThrow(ReplicaAckError);
    // A fresh admission after the reconnect is confirmed again, once the server is known again.
    await waitFor(() => admit(30_000).then(() => true, () => false), { message: 'a confirmation after the reconnect' });
  });

  it('rejects (never crashes) while the acknowledgement connection is down, and recovers', async () => {
    const reconnected = once(ackConnection, 'ready');
    ackConnection.disconnect(true);
    const error = await admit(40_000).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ReplicaAckError);
    await reconnected;
    await waitFor(() => admit(40_001).then(() => true, () => false), { message: 'a confirmation once the ack connection is back' });
  });

  it('does not confirm when the write connections are on another server than the acknowledged one', async () => {
    const elsewhere = await startRedisServer();
    const other = await connectRedis(elsewhere.url, apiRedisOptions());
    other.on('error', () => {});
    const split = new ReplicaAck({ ackConnection, writeConnections: [other], timeoutMs: TIMEOUT_MS, retryAfterSeconds: 2, channel: 'test:replica-ack' });
    try {
      await split.ready();
      const token = split.begin();
      await other.set('t:elsewhere', '1');
      const error = await split.confirmReplicated(token).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ReplicaAckError);
      expect((error as ReplicaAckError).reason).toMatch(/another server/);
    } finally {
      split.close();
      other.disconnect();
      await elsewhere.close();
    }
  });
});
