import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { connectRedis, StartupError, type OneServerTarget } from '../src/runtime/index.ts';
import { freePort, startRedisServer, startSentinelTopology, waitFor, type RedisServer, type SentinelTopology } from '../src/testing/index.ts';

const PREFIX = `sentinel-test-${process.pid}`;

/** ROLE of one server, on a short-lived connection (null when it does not answer). */
async function roleOf(port: number): Promise<string | null> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return ((await redis.call('ROLE')) as [string])[0];
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/**
 * The Sentinel test support itself, and the connection factory through it: a client connected
 * through the sentinels follows a failover on its own, both when the primary dies (SIGKILL) and
 * when it is demoted while the client stays connected (READONLY → reconnect and resend).
 */
describe('sentinel topology and connectRedis through the sentinels', () => {
  let topology: SentinelTopology;
  /** A second one for the manual failover (a demoted primary takes Sentinel ~10 s to reconfigure). */
  let second: SentinelTopology;
  let target: OneServerTarget;
  const clients: Redis[] = [];
  const targetOf = (of: SentinelTopology): OneServerTarget => ({
    url: 'redis://127.0.0.1:6379',
    sentinels: of.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    sentinelName: of.name,
  });
  beforeAll(async () => {
    [topology, second] = await Promise.all([startSentinelTopology(), startSentinelTopology({ name: 'second' })]);
    target = targetOf(topology);
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await Promise.all([topology?.close(), second?.close()]);
  });

  it('starts a primary, an in-sync replica and three sentinels that agree', async () => {
    expect(await topology.sentinelsView()).toEqual([topology.primary.port, topology.primary.port, topology.primary.port]);
    expect(await roleOf(topology.primary.port)).toBe('master');
    expect(await roleOf(topology.replica.port)).toBe('slave');
    expect((await topology.primary.info('persistence')).aof_enabled).toBe('1');
  });

  it('a PUBLISH advances the replication offset, and a WAIT after it waits for the replica (the replica-ack marker)', async () => {
    const redis = await connectRedis(target, { enableAutoPipelining: false });
    clients.push(redis);
    const before = Number((await topology.primary.info('replication')).master_repl_offset);
    await redis.publish(`${PREFIX}:marker`, '');
    expect(Number((await topology.primary.info('replication')).master_repl_offset)).toBeGreaterThan(before);
    const replicaPid = topology.replica.pid!;
    process.kill(replicaPid, 'SIGSTOP');
    try {
      await redis.publish(`${PREFIX}:marker`, '');
      const started = performance.now();
      expect(await redis.wait(1, 300)).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      process.kill(replicaPid, 'SIGCONT');
    }
    expect(await redis.wait(1, 5_000)).toBe(1);
  });

  it('manual failover (SENTINEL FAILOVER): a connected client ends up on the new primary by itself', async () => {
    // The old primary stays up and writable until Sentinel reconfigures it as a replica; then
    // Sentinel kills its clients, and ours reconnects through the sentinels to the new primary.
    const client = await connectRedis(targetOf(second));
    clients.push(client);
    await client.set(`${PREFIX}:before`, '1');
    expect(await client.wait(1, 5_000)).toBe(1);
    const oldPrimary = second.primary.port;
    const sentinel = new Redis({ host: '127.0.0.1', port: second.sentinelPorts[0]!, lazyConnect: true });
    sentinel.on('error', () => {});
    await sentinel.connect();
    await sentinel.call('SENTINEL', 'FAILOVER', second.name);
    sentinel.disconnect();
    const started = performance.now();
    const newPrimary = await second.waitForFailover(oldPrimary);
    const remotePort = () => (client as unknown as { stream?: { remotePort?: number } }).stream?.remotePort;
    await waitFor(() => client.status === 'ready' && remotePort() === newPrimary, { timeoutMs: 30_000, message: 'the client to be on the new primary' });
    await client.set(`${PREFIX}:after`, '2');
    expect(await client.get(`${PREFIX}:before`)).toBe('1');
    console.log(`manual failover: client on the new primary ${Math.round(performance.now() - started)} ms after the promotion began`);
  });

  it('primary SIGKILLed: a connected client follows the promoted replica by itself, with the data WAIT confirmed', async () => {
    const redis = await connectRedis(target, { maxRetriesPerRequest: null });
    clients.push(redis);
    await redis.set(`${PREFIX}:durable`, 'kept');
    expect(await redis.wait(1, 5_000)).toBe(1);
    const killed = await topology.killPrimary();
    const started = performance.now();
    const newPort = await topology.waitForFailover();
    expect(newPort).not.toBe(killed.port);
    // The offline queue holds the command until ioredis has found the new primary.
    expect(await redis.get(`${PREFIX}:durable`)).toBe('kept');
    await redis.set(`${PREFIX}:after-kill`, '1');
    expect((redis as unknown as { stream: { remotePort: number } }).stream.remotePort).toBe(newPort);
    console.log(`failover after SIGKILL: promoted port ${newPort} in ${Math.round(performance.now() - started)} ms`);
  });

  it('fails fast at start with one line naming the sentinels', async () => {
    const unreachable = [await freePort(), await freePort()];
    const error = await connectRedis({ url: 'redis://127.0.0.1:6379', sentinels: unreachable.map((port) => ({ host: '127.0.0.1', port })), sentinelName: 'nobody' }, {}, 1_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/[\r\n]/);
    expect(message).toContain(`127.0.0.1:${unreachable[0]},127.0.0.1:${unreachable[1]}`);
    expect(message).toContain('"nobody"');
    expect(message).toContain('REDIS_SENTINELS');
  });

  it('fails fast when the sentinels do not know the primary name', async () => {
    const error = await connectRedis({ ...target, sentinelName: 'unknown-name' }, {}, 1_000).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toContain('REDIS_SENTINEL_NAME');
  });
});

/**
 * READONLY without sentinels (a DNS name or a managed endpoint that now points at a replica, or
 * a primary demoted under a client that kept its connection): the command did not run, so the
 * factory's reconnectOnError reconnects and resends it instead of failing until a restart.
 */
describe('connectRedis: a READONLY reply reconnects and resends', () => {
  let servers: RedisServer[] = [];
  beforeAll(async () => {
    servers = [await startRedisServer(), await startRedisServer()];
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it('resends the write once the server is a primary again, and without the option it fails', async () => {
    const [x, y] = servers as [RedisServer, RedisServer];
    const client = await connectRedis(x.url, { retryStrategy: () => 50 });
    const plain = await connectRedis(x.url, { reconnectOnError: null });
    const admin = await connectRedis(x.url);
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    try {
      await admin.call('REPLICAOF', '127.0.0.1', String(y.port));
      await waitFor(async () => (await x.info('replication')).role === 'slave', { message: 'x to be a replica' });
      await expect(plain.set(`${PREFIX}:k`, 'v')).rejects.toThrow(/READONLY/);
      const write = client.set(`${PREFIX}:k`, 'v');
      await waitFor(() => reconnects >= 2, { message: 'READONLY to make the client reconnect' });
      await admin.call('REPLICAOF', 'NO', 'ONE');
      expect(await write).toBe('OK');
      expect(await admin.get(`${PREFIX}:k`)).toBe('v');
    } finally {
      for (const redis of [client, plain, admin]) redis.disconnect();
    }
  });
});
