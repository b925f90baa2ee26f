// The embedded default for local runs: when a command finds no server answering at the default
// URLs, and those URLs were not set explicitly, it starts private ones (free ports, data in
// .data/) and points the variables at them. Never in production: NODE_ENV=production, or a URL
// that is set, is used as it is (and a set URL that does not answer stays the services' one-line
// start-up failure).
import { join, relative } from 'node:path';
import { startLocalPostgres, type LocalPostgres } from './postgres/local-postgres.ts';
import { acceptsConnections, answersPing } from './probe.ts';
import { startLocalRedis, type LocalRedis } from './redis/local-redis.ts';

/**
 * 'run': the services' own variables (REDIS_URL, DATABASE_URL: the `coupons` database), for
 * `pnpm start` and `pnpm cluster`. 'test': the variables the test environments build on
 * (TEST_REDIS_URL, TEST_DATABASE_URL: the `postgres` maintenance database), for `pnpm test` and
 * the tools that make a fresh database per run (burst, bench, chaos).
 */
export type Purpose = 'run' | 'test';

const VARIABLES = {
  run: { redis: 'REDIS_URL', postgres: 'DATABASE_URL', database: 'coupons' },
  test: { redis: 'TEST_REDIS_URL', postgres: 'TEST_DATABASE_URL', database: 'postgres' },
} as const;

const DEFAULTS = { redis: { host: '127.0.0.1', port: 6379 }, postgres: { host: '127.0.0.1', port: 5432 } };

export interface ServerChoice {
  /** 'configured': the variable was set; 'running': a server answered at the default; 'embedded': ours. */
  source: 'configured' | 'running' | 'embedded';
  url: string;
  /** One line for a start banner. */
  describe: string;
}

export interface LocalServers {
  redis: ServerChoice;
  postgres: ServerChoice;
  /** Stops the servers this call started (none when it started none). */
  stop(): Promise<void>;
}

export interface EnsureOptions {
  purpose: Purpose;
  log?: (line: string) => void;
  /** Where the default servers are looked for (tests point these at closed ports). */
  defaults?: { redis: Address; postgres: Address };
  /** Where embedded servers keep their data (default .data/). */
  dataDir?: string;
}

interface Address {
  host: string;
  port: number;
}

const shown = (dir: string) => relative(process.cwd(), dir) || dir;

/** Blank counts as unset (as the config treats it). */
const setValue = (name: string): string | undefined => process.env[name]?.trim() || undefined;

export async function ensureLocalServers(options: EnsureOptions): Promise<LocalServers> {
  const names = VARIABLES[options.purpose];
  const log = options.log ?? (() => {});
  const production = process.env.NODE_ENV === 'production';
  const started: (LocalRedis | LocalPostgres)[] = [];
  const { redis: DEFAULT_REDIS, postgres: DEFAULT_POSTGRES } = options.defaults ?? DEFAULTS;
  const dataDir = (name: string) => (options.dataDir ? { dataDir: join(options.dataDir, name) } : {});

  const redisSet = setValue(names.redis);
  let redis: ServerChoice;
  if (redisSet || production) {
    redis = { source: 'configured', url: redisSet ?? `redis://${DEFAULT_REDIS.host}:${DEFAULT_REDIS.port}`, describe: `Redis: ${redisSet ?? 'default'} (${names.redis})` };
  } else if (await answersPing(DEFAULT_REDIS.host, DEFAULT_REDIS.port)) {
    redis = { source: 'running', url: `redis://${DEFAULT_REDIS.host}:${DEFAULT_REDIS.port}`, describe: `Redis: the one running on ${DEFAULT_REDIS.host}:${DEFAULT_REDIS.port}` };
  } else {
    log(`no Redis answers on ${DEFAULT_REDIS.host}:${DEFAULT_REDIS.port} and ${names.redis} is not set: starting an embedded one`);
    const server = await startLocalRedis(dataDir('redis'));
    started.push(server);
    redis = {
      source: 'embedded',
      url: server.url,
      describe: `Redis: embedded on port ${server.port} (redis-server from ${server.binary === 'PATH' ? 'PATH' : '.cache/redis'}${server.reused ? ', already running' : ''}), data in ${shown(server.dataDir)}`,
    };
  }

  const postgresSet = setValue(names.postgres);
  let postgres: ServerChoice;
  if (postgresSet || production) {
    postgres = { source: 'configured', url: postgresSet ?? `postgres://postgres@${DEFAULT_POSTGRES.host}:${DEFAULT_POSTGRES.port}/${names.database}`, describe: `Postgres: ${postgresSet ? postgresSet.replace(/\/\/[^@/]*@/, '//…@') : 'default'} (${names.postgres})` };
  } else if (await acceptsConnections(DEFAULT_POSTGRES.host, DEFAULT_POSTGRES.port)) {
    postgres = { source: 'running', url: `postgres://postgres@${DEFAULT_POSTGRES.host}:${DEFAULT_POSTGRES.port}/${names.database}`, describe: `Postgres: the one running on ${DEFAULT_POSTGRES.host}:${DEFAULT_POSTGRES.port}` };
  } else {
    log(`no PostgreSQL answers on ${DEFAULT_POSTGRES.host}:${DEFAULT_POSTGRES.port} and ${names.postgres} is not set: starting an embedded one`);
    const server = await startLocalPostgres(dataDir('postgres')).catch(async (error: Error) => {
      await Promise.all(started.map((s) => s.stop()));
      throw error;
    });
    started.push(server);
    postgres = {
      source: 'embedded',
      url: server.url(names.database),
      describe: `Postgres: embedded ${server.version} on port ${server.port}${server.reused ? ' (already running)' : ''}, data in ${shown(server.dataDir)}`,
    };
  }

  // Child processes (services, test workers) inherit these.
  if (redis.source === 'embedded') process.env[names.redis] = redis.url;
  if (postgres.source === 'embedded') process.env[names.postgres] = postgres.url;
  if (options.purpose === 'run') {
    // The run's tools that build test environments (none today, but a cluster's helpers may) see the same servers.
    if (redis.source === 'embedded') process.env.TEST_REDIS_URL ??= redis.url;
    if (postgres.source === 'embedded') process.env.TEST_DATABASE_URL ??= postgres.url.replace(/\/[^/]*$/, '/postgres');
  }
  return {
    redis,
    postgres,
    async stop() {
      await Promise.all(started.reverse().map((server) => server.stop()));
    },
  };
}

