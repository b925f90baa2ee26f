import { Redis } from 'ioredis';
import type { RedisNotNowCode } from '../redis/redis-refusal.ts';
import { startRedisServer, type RedisServer } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

/**
 * Ways to make a private redis-server refuse commands for real (never the shared one): each
 * returns once Redis answers with the refusal, and `undo` returns it to normal.
 */
export interface Refusal {
  code: RedisNotNowCode;
  undo(): Promise<void>;
}

const FILLER = 'refusal-filler:';

const isRefusedWith = (code: string) => (error: unknown) => (error as Error).message?.startsWith(`${code} `) ?? false;

function connect(server: RedisServer): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  return redis;
}

/** OOM: maxmemory a little above what Redis uses now (noeviction, as startRedisServer runs it), then filled until writes are refused. */
export async function exhaustMemory(server: RedisServer): Promise<Refusal> {
  const redis = connect(server);
  try {
    const used = Number((await server.info('memory')).used_memory);
    await redis.config('SET', 'maxmemory', String(used + 4 * 1024 * 1024));
    const value = 'x'.repeat(64 * 1024);
    for (let i = 0; ; i++) {
      if (i > 1_000) throw new Error('Redis never refused a write with OOM');
      const refused = await redis.set(`${FILLER}${i}`, value).then(() => false, isRefusedWith('OOM'));
      if (refused) break;
    }
    // Full, and then some: used memory moves as buffers drain and clients come and go (a 1 MiB
    // margin was seen to vanish on a loaded CI run), and a refusal that comes and goes would make
    // the tests flaky. Half of what is used: under noeviction nothing is evicted, every write is
    // refused until undo(), and reads are still served.
    const full = Number((await server.info('memory')).used_memory);
    await redis.config('SET', 'maxmemory', String(Math.floor(full / 2)));
  } finally {
    redis.disconnect();
  }
  return {
    code: 'OOM',
    async undo() {
      await server.call('CONFIG', 'SET', 'maxmemory', '0');
      const filler = connect(server);
      try {
        const keys = await filler.keys(`${FILLER}*`);
        if (keys.length) await filler.unlink(...keys);
      } finally {
        filler.disconnect();
      }
    },
  };
}

/** NOREPLICAS: min-replicas-to-write 1 on a server that has no replica. */
export async function requireReplicas(server: RedisServer): Promise<Refusal> {
  await server.call('CONFIG', 'SET', 'min-replicas-to-write', '1');
  return { code: 'NOREPLICAS', undo: async () => void (await server.call('CONFIG', 'SET', 'min-replicas-to-write', '0')) };
}

/**
 * BUSY: a script that never ends, past a short busy-reply-threshold (`lua-time-limit` is its
 * older name, known to Redis 6 as well). It writes nothing, so SCRIPT KILL can end it.
 */
export async function blockWithScript(server: RedisServer): Promise<Refusal> {
  await server.call('CONFIG', 'SET', 'lua-time-limit', '50');
  // Connected before the script starts: a new connection's ready check would be refused too.
  const control = connect(server);
  const runner = connect(server);
  await Promise.all([control.ping(), runner.ping()]);
  const ended = runner.eval('while true do end', 0).catch((error: Error) => error);
  await waitFor(() => control.ping().then(() => false, isRefusedWith('BUSY')), { intervalMs: 20, message: 'Redis to answer BUSY' });
  return {
    code: 'BUSY',
    async undo() {
      await waitFor(() => control.script('KILL').then(() => true, () => false), { intervalMs: 20, message: 'SCRIPT KILL to succeed' });
      await ended;
      runner.disconnect();
      control.disconnect();
    },
  };
}

/**
 * READONLY, as after a failover: a replica of `primary` takes over (REPLICAOF NO ONE) and
 * `primary` becomes its replica, keeping its data but refusing writes. `undo` makes `primary`
 * a primary again. Returns the other server too, for the caller to close.
 */
export async function demoteToReplica(primary: RedisServer): Promise<Refusal & { promoted: RedisServer }> {
  // No diskless-sync delay (5 s by default) on either side: the syncs start at once.
  await primary.call('CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
  const promoted = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port), '--repl-diskless-sync-delay', '0'] });
  try {
    await waitFor(async () => (await promoted.info('replication')).master_link_status === 'up', { message: 'the replica to sync' });
    await promoted.call('REPLICAOF', 'NO', 'ONE');
    await primary.call('REPLICAOF', '127.0.0.1', String(promoted.port));
    await waitFor(async () => (await primary.info('replication')).master_link_status === 'up', { message: 'the old primary to follow the new one' });
  } catch (error) {
    await promoted.close();
    throw error;
  }
  return {
    code: 'READONLY',
    promoted,
    async undo() {
      await primary.call('REPLICAOF', 'NO', 'ONE');
    },
  };
}
