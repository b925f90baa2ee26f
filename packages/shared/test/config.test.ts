import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.ts';

function configErrorFrom(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('takes the documented defaults when the environment is empty', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/coupons',
      REDIS_PREFIX: 'coupons',
      LOG_LEVEL: 'info',
      ADMISSION_MAX_BACKLOG: 100_000,
      WORKER_CONCURRENCY: 64,
      BATCH_SIZE: 500,
      LOCK_LEASE_MS: 10_000,
    });
  });

  it('parses numbers and strings from their text form', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_URL: 'redis://cache:6380/3',
      DATABASE_URL: 'postgresql://app@db:5433/event',
      REDIS_PREFIX: 'run_42',
      LOG_LEVEL: 'debug',
      BATCH_SIZE: '250',
      LOCK_LEASE_MS: '1500',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      REDIS_URL: 'redis://cache:6380/3',
      DATABASE_URL: 'postgresql://app@db:5433/event',
      REDIS_PREFIX: 'run_42',
      LOG_LEVEL: 'debug',
      BATCH_SIZE: 250,
      LOCK_LEASE_MS: 1500,
    });
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', REDIS_URL: '', LOG_LEVEL: '', BATCH_SIZE: '' });
    expect(config).toMatchObject({ PORT: 3000, REDIS_URL: 'redis://127.0.0.1:6379', LOG_LEVEL: 'info', BATCH_SIZE: 500 });
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ HOME: '/root', NODE_ENV: 'test' })).not.toHaveProperty('HOME');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['REDIS_URL', 'http://x'],
    ['DATABASE_URL', 'mysql://root@db/coupons'],
    ['BATCH_SIZE', '0'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_PREFIX', 'has:colon'],
    ['LOCK_LEASE_MS', String(2 ** 31)],
    ['SHUTDOWN_TIMEOUT_MS', '99999999999'],
    ['TICKET_TTL_SECONDS', '3000000'],
    ['EVENT_RETENTION_SECONDS', '0'],
  ])('refuses %s=%s with one line naming the variable and the value', (name, value) => {
    const error = configErrorFrom({ [name]: value });
    expect(error.name).toBe('ConfigError');
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('keeps the message on one line even when the bad value holds a newline', () => {
    const error = configErrorFrom({ PORT: '3000\nrm -rf' });
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain('PORT=');
  });

  it('names the bad variable, not a good one beside it', () => {
    const error = configErrorFrom({ PORT: '3001', LOG_LEVEL: 'loud' });
    expect(error.message).toContain('LOG_LEVEL=');
    expect(error.message).not.toContain('PORT=');
  });

  it('refuses a batch the statement timeout cannot cover, naming the fix', () => {
    const error = configErrorFrom({ BATCH_SIZE: '10000', DB_STATEMENT_TIMEOUT_MS: '1000' });
    expect(error.message).toMatch(/BATCH_SIZE.*10000 tickets need a statement timeout of at least 2000 ms \(DB_STATEMENT_TIMEOUT_MS is 1000\)/);
    expect(error.message).not.toMatch(/[\r\n]/);
    // The default statement timeout (half the lease, at most 5 s) covers the default batch.
    expect(loadConfig({ BATCH_SIZE: '10000', LOCK_LEASE_MS: '10000' }).DB_STATEMENT_TIMEOUT_MS).toBe(5_000);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });

  // z.coerce.number() would turn ' ' into 0 (a random port, no reconcile grace): blank counts as unset.
  it('does not turn a whitespace-only number into 0', () => {
    let port: number | undefined;
    try {
      port = loadConfig({ PORT: ' ' }).PORT;
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }
    expect(port).toBe(3000);
  });
});

describe('loadConfig: Redis Cluster (REDIS_CLUSTER_NODES)', () => {
  it('parses the nodes; unset means one server, as before', () => {
    expect(loadConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'redis-cluster-0.redis-cluster:6379,10.0.0.7:7001', REDIS_URL: 'rediss://app:s3cret@ignored:6379' });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-cluster-0.redis-cluster', port: 6379 },
      { host: '10.0.0.7', port: 7001 },
    ]);
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'redis-cluster-0' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'a:6379,b:70000' }, 'REDIS_CLUSTER_NODES'],
    [{ REDIS_CLUSTER_NODES: 'a:6379', REDIS_SENTINELS: 's:26379' }, 'not both'],
    [{ REDIS_CLUSTER_NODES: 'a:6379', REDIS_URL: 'redis://127.0.0.1:6379/3' }, 'only database 0'],
  ])('refuses %j with one line (%s)', (env, expected) => {
    const error = configErrorFrom(env);
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain(expected);
  });
});

describe('loadConfig: Redis high availability (Sentinel, durable admission)', () => {
  it('defaults to no sentinels and async admission', () => {
    const config = loadConfig({});
    expect(config.REDIS_SENTINELS).toBeUndefined();
    expect(config).toMatchObject({ REDIS_SENTINEL_NAME: 'mymaster', ADMISSION_DURABILITY: 'async', ADMISSION_REPLICA_TIMEOUT_MS: 200 });
    expect(config.REDIS_SENTINEL_PASSWORD).toBeUndefined();
  });

  it('parses a sentinel list into addresses (names, IPv4, [IPv6])', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 'redis-sentinel-0.redis-sentinel:26379,10.0.0.7:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'coupons-primary',
      REDIS_SENTINEL_PASSWORD: 's3cret',
      ADMISSION_DURABILITY: 'replica',
      ADMISSION_REPLICA_TIMEOUT_MS: '500',
    });
    expect(config.REDIS_SENTINELS).toEqual([
      { host: 'redis-sentinel-0.redis-sentinel', port: 26379 },
      { host: '10.0.0.7', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(config).toMatchObject({ REDIS_SENTINEL_NAME: 'coupons-primary', REDIS_SENTINEL_PASSWORD: 's3cret', ADMISSION_DURABILITY: 'replica', ADMISSION_REPLICA_TIMEOUT_MS: 500 });
  });

  it.each([
    ['REDIS_SENTINELS', 'sentinel-0'],
    ['REDIS_SENTINELS', 'sentinel-0:26379,'],
    ['REDIS_SENTINELS', 'sentinel-0:26379 sentinel-1:26379'],
    ['REDIS_SENTINELS', 'redis://sentinel-0:26379'],
    ['REDIS_SENTINELS', 'sentinel-0:0'],
    ['REDIS_SENTINELS', 'sentinel-0:70000'],
    ['REDIS_SENTINEL_NAME', 'my master'],
    ['ADMISSION_DURABILITY', 'sync'],
    ['ADMISSION_REPLICA_TIMEOUT_MS', '0'],
    ['ADMISSION_REPLICA_TIMEOUT_MS', '20000'],
  ])('refuses %s=%s with one line naming the variable and the value', (name, value) => {
    const error = configErrorFrom({ [name]: value });
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
  });

  it('tells the expected form of REDIS_SENTINELS', () => {
    expect(configErrorFrom({ REDIS_SENTINELS: 'sentinel-0' }).message).toContain('expected host:port[,host:port…]');
  });
});

describe('the listeners (issue 11)', () => {
  it('defaults to an operations port beside the public one, and the documented limits', () => {
    expect(loadConfig({})).toMatchObject({
      OPS_PORT: 3001,
      HTTP_MAX_CONNECTIONS: 4096,
      HTTP_MAX_CONNECTIONS_PER_CLIENT: 0,
      HTTP_HEADERS_TIMEOUT_MS: 5_000,
      HTTP_REQUEST_TIMEOUT_MS: 10_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 65_000,
      HTTP_MAX_PIPELINED_REQUESTS: 16,
    });
  });

  it('refuses the operations port on the public one, except both ephemeral', () => {
    expect(configErrorFrom({ PORT: '8080', OPS_PORT: '8080' }).message).toContain('OPS_PORT');
    expect(loadConfig({ PORT: '0', OPS_PORT: '0' }).OPS_PORT).toBe(0);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(configErrorFrom({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }).message).toContain('HTTP_HEADERS_TIMEOUT_MS');
  });
});

describe('the sharded queue (issue 14)', () => {
  it('defaults to one shard, every shard consumed, and a stuck ticket re-enqueued after a minute', () => {
    expect(loadConfig({})).toMatchObject({ QUEUE_SHARDS: 1, RECONCILE_STUCK_MS: 60_000 });
    expect(loadConfig({}).WORKER_QUEUE_SHARDS).toBeUndefined();
  });

  it('parses a worker\'s shard list, sorted and without repeats', () => {
    expect(loadConfig({ QUEUE_SHARDS: '8', WORKER_QUEUE_SHARDS: '6,0,2,2' }).WORKER_QUEUE_SHARDS).toEqual([0, 2, 6]);
  });

  it.each([
    [{ QUEUE_SHARDS: '0' }, 'Invalid configuration: QUEUE_SHARDS="0"'],
    [{ QUEUE_SHARDS: '257' }, 'Invalid configuration: QUEUE_SHARDS="257"'],
    [{ QUEUE_SHARDS: 'four' }, 'Invalid configuration: QUEUE_SHARDS="four"'],
    [{ QUEUE_SHARDS: '4', WORKER_QUEUE_SHARDS: '0,4' }, 'WORKER_QUEUE_SHARDS="0,4" (shard 4 does not exist: QUEUE_SHARDS is 4 (shards 0..3))'],
    [{ WORKER_QUEUE_SHARDS: '1' }, 'shard 1 does not exist: QUEUE_SHARDS is 1 (shards 0..0)'],
    [{ QUEUE_SHARDS: '4', WORKER_QUEUE_SHARDS: '0;2' }, 'expected shard numbers separated by commas, e.g. 0,2'],
  ])('refuses %j in one line naming the variable', (env, message) => {
    const error = configErrorFrom(env);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('\n');
  });
});
