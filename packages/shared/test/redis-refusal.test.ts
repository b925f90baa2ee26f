import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { isRedisConnectionError, isRedisUnavailable, redisRefusal, REDIS_NOT_NOW_CODES, type RedisNotNowCode } from '../src/redis/index.ts';
import {
  blockWithScript, demoteToReplica, exhaustMemory, freePort, requireReplicas, startRedisServer, type RedisServer, type Refusal,
} from '../src/testing/index.ts';

/** The replies as Redis 7 words them (src/server.c shared objects). */
const REPLIES: Record<RedisNotNowCode, string> = {
  OOM: "OOM command not allowed when used memory > 'maxmemory'.",
  MISCONF: 'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
  READONLY: "READONLY You can't write against a read only replica.",
  NOREPLICAS: 'NOREPLICAS Not enough good replicas to write.',
  BUSY: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
  LOADING: 'LOADING Redis is loading the dataset in memory',
  MASTERDOWN: "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
  CLUSTERDOWN: 'CLUSTERDOWN The cluster is down',
  TRYAGAIN: 'TRYAGAIN Multiple keys request during rehashing of slot',
  MOVED: 'MOVED 3999 127.0.0.1:6381',
  ASK: 'ASK 3999 127.0.0.1:6381',
};

describe('redisRefusal: error replies that mean "not now"', () => {
  it.each(REDIS_NOT_NOW_CODES)('%s is a refusal', (code) => {
    const error = new ReplyError(REPLIES[code]);
    expect(redisRefusal(error)).toBe(code);
    expect(isRedisUnavailable(error)).toBe(true);
  });

  it('reads the code of a refusal inside a script, as Redis 7 and Redis 6 word it', () => {
    expect(redisRefusal(new ReplyError(`${REPLIES.MISCONF} script: 8b2a…, on @user_script:1.`))).toBe('MISCONF');
    const redis6 = "ERR Error running script (call to f_8b2a…): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica. ";
    expect(redisRefusal(new ReplyError(redis6))).toBe('READONLY');
  });

  it('finds the refusal behind a MULTI/EXEC that Redis discarded (EXECABORT)', () => {
    const execAbort = Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.'), {
      previousErrors: [new ReplyError(REPLIES.LOADING)],
    });
    expect(redisRefusal(execAbort)).toBe('LOADING');
  });

  it.each([
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'NOSCRIPT No matching script. Please use EVAL.',
    "ERR unknown command 'FOO', with args beginning with: ",
    'ERR Error running script (call to f_1): @user_script:3: user_script:3: attempt to compare nil with number ',
    'EXECABORT Transaction discarded because of previous errors.',
  ])('is not a refusal: %s', (message) => {
    expect(redisRefusal(new ReplyError(message))).toBeUndefined();
    expect(isRedisUnavailable(new ReplyError(message))).toBe(false);
  });

  it('goes by the error, not its text: a plain Error saying OOM is not a Redis reply', () => {
    expect(redisRefusal(new Error(REPLIES.OOM))).toBeUndefined();
    expect(isRedisUnavailable(new Error('something READONLY happened'))).toBe(false);
    expect(isRedisUnavailable('OOM')).toBe(false);
  });
});

describe('isRedisConnectionError: what ioredis answers a command it cannot send', () => {
  let silent: Server;
  let silentPort: number;
  const clients: Redis[] = [];
  const client = (port: number, options: RedisOptions) => {
    const redis = new Redis({ host: '127.0.0.1', port, ...options });
    redis.on('error', () => {});
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    // Accepts connections and never answers: a partition as a command sees it.
    silent = createServer(() => {}).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(() => {
    for (const redis of clients) redis.disconnect();
    silent.close();
  });

  const rejection = (command: Promise<unknown>) => command.then(() => new Error('resolved'), (error: Error) => error);

  it('MaxRetriesPerRequestError: nothing listens, the offline queue gives up', async () => {
    const error = await rejection(client(await freePort(), { maxRetriesPerRequest: 1, retryStrategy: () => 10 }).get('k'));
    expect(error.name).toBe('MaxRetriesPerRequestError');
    expect(isRedisConnectionError(error)).toBe(true);
  });

  it("offline queue disabled: Stream isn't writeable", async () => {
    const error = await rejection(client(await freePort(), { enableOfflineQueue: false, lazyConnect: true }).get('k'));
    expect(error.message).toMatch(/Stream isn't writeable/);
    expect(isRedisConnectionError(error)).toBe(true);
  });

  it('Connection is closed (after disconnect)', async () => {
    const redis = client(silentPort, { lazyConnect: true });
    redis.disconnect();
    const error = await rejection(redis.get('k'));
    expect(error.message).toBe('Connection is closed.');
    expect(isRedisConnectionError(error)).toBe(true);
  });

  it('Command timed out (a server that never answers)', async () => {
    const error = await rejection(client(silentPort, { commandTimeout: 100, maxRetriesPerRequest: 0 }).get('k'));
    expect(error.message).toBe('Command timed out');
    expect(isRedisConnectionError(error)).toBe(true);
    expect(redisRefusal(error)).toBeUndefined();
  });

  it('a reply error or an unrelated error is not a connection error', () => {
    expect(isRedisConnectionError(new ReplyError(REPLIES.OOM))).toBe(false);
    expect(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(false);
  });
});

/** Real refusals from a real redis-server, through a plain command, a script and MULTI/EXEC. */
describe('refusals of a real redis-server are classified', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  const refusedWrites = async (): Promise<(RedisNotNowCode | undefined)[]> => {
    const errors = await Promise.all([
      redis.set('k', 'v'),
      redis.eval("return redis.call('SET', KEYS[1], 'v')", 1, 'k'),
      redis.multi().set('k', 'v').incr('n').exec(),
    ].map((command) => command.then(() => undefined, (error: Error) => error)));
    return errors.map(redisRefusal);
  };

  it.each([exhaustMemory, requireReplicas])('%o: writes refused, reads served', async (make) => {
    const refusal: Refusal = await make(server);
    try {
      expect(await refusedWrites()).toEqual([refusal.code, refusal.code, refusal.code]);
      await expect(redis.exists('k')).resolves.toBeTypeOf('number');
    } finally {
      await refusal.undo();
    }
    expect(await redis.set('k', 'v')).toBe('OK');
  });

  it('BUSY: every command refused while a script runs past busy-reply-threshold', async () => {
    const refusal = await blockWithScript(server);
    try {
      const error = await redis.get('k').then(() => undefined, (e: Error) => e);
      expect(redisRefusal(error)).toBe('BUSY');
      expect((await refusedWrites())[0]).toBe('BUSY');
    } finally {
      await refusal.undo();
    }
    expect(await redis.ping()).toBe('PONG');
  });

  it('READONLY: the old primary after a failover refuses writes', async () => {
    const refusal = await demoteToReplica(server);
    try {
      expect(await refusedWrites()).toEqual(['READONLY', 'READONLY', 'READONLY']);
      await expect(redis.exists('k')).resolves.toBeTypeOf('number');
    } finally {
      await refusal.undo();
      await refusal.promoted.close();
    }
    expect(await redis.set('k', 'v')).toBe('OK');
  });
});
