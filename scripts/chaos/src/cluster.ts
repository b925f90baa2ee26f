// The cluster one scenario runs against: a fresh database (on the shared Postgres, or on a
// private one), the scenario's own coupons, the scenario's private Redis, and API and worker
// processes exactly as `pnpm start:api` / `start:worker` run them — each one of them killable,
// stoppable and replaceable on its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalCluster } from '@coupons/burst/cluster';
import { dropDatabase } from '@coupons/shared/db';
import { couponKeys, registerCommands, type CouponKeys } from '@coupons/shared/redis';
import { connectRedis, redisTarget } from '@coupons/shared/runtime';
import { apiReady, spawnService, workerReady, type ServiceProcess } from '@coupons/harness/processes';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';

export interface CouponSpec {
  code: string;
  limit: number;
}

export interface ChaosService {
  name: string;
  kind: 'api' | 'worker';
  process: ServiceProcess;
}

export interface ClusterSpec {
  /** The Redis (with REDIS_SENTINELS in `env`: only its password and database count, the sentinels name the primary). */
  redisUrl: string;
  /** URL of a database named `name` on a private Postgres; default: a fresh database on the shared one. */
  databaseUrl?: (name: string) => string;
  /** Created before any process starts (the API's catalog loads them at start). */
  coupons: CouponSpec[];
  /** Variables for every process (batch size, lease, ...). */
  env: Record<string, string>;
  /** Variables for the API processes only. */
  apiEnv?: Record<string, string>;
  apis: number;
  /** One entry per worker started with the cluster: that worker's extra variables. */
  workers: Record<string, string>[];
}

export interface ChaosCluster extends LocalCluster {
  services: ChaosService[];
  /** Workers that have not exited (stopped ones included). */
  liveWorkers(): ChaosService[];
  /** Starts more workers (named worker-N after the last one) and waits until they are ready. */
  startWorkers(count: number, extraEnv?: Record<string, string>): Promise<ChaosService[]>;
  keys(code: string): CouponKeys;
}

const STARTUP_TIMEOUT_MS = 90_000;

/** Waits until a worker is ready; fails with its last lines if it exits first. */
const ready = (service: ChaosService): Promise<void> => workerReady(service.process, STARTUP_TIMEOUT_MS);

export async function startChaosCluster(spec: ClusterSpec, log: (line: string) => void, onTeardown: (teardown: () => Promise<void>) => void): Promise<ChaosCluster> {
  const databaseName = `coupons_chaos_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const environment: TestEnvironment = await createTestEnvironment({
    REDIS_URL: spec.redisUrl,
    ...(spec.databaseUrl && { DATABASE_URL: spec.databaseUrl(databaseName) }),
    ...spec.env,
  });
  if (environment.config.REDIS_SENTINELS?.length) {
    // The harness's own client follows the sentinels as the services do (a direct one dies with the primary).
    environment.redis.disconnect();
    environment.redis = registerCommands(await connectRedis(redisTarget(environment.config), { maxRetriesPerRequest: null }));
    environment.redis.on('error', () => {});
  }
  const services: ChaosService[] = [];
  let workerCount = 0;
  let tornDown: Promise<void> | null = null;
  // Workers log at debug: "batch decided" lines (with time, coupon, fence) are how a scenario
  // sees who decided what, and when the workers made progress again after a fault.
  const spawn = (kind: ChaosService['kind'], extraEnv: Record<string, string> = {}): ChaosService => {
    const name = kind === 'api' ? `api-${services.filter((s) => s.kind === 'api').length + 1}` : `worker-${++workerCount}`;
    const env = { ...environment.env, ...(kind === 'api' ? { PORT: '0', LOG_LEVEL: 'info', ...spec.apiEnv } : { LOG_LEVEL: 'debug' }), ...extraEnv };
    const process = spawnService(kind, env, { name });
    const service: ChaosService = { name, kind, process };
    services.push(service);
    return service;
  };

  const cluster: ChaosCluster = {
    environment,
    apiUrls: [],
    services,
    liveWorkers: () => services.filter((s) => s.kind === 'worker' && s.process.child.exitCode === null && s.process.child.signalCode === null),
    async startWorkers(count, extraEnv = {}) {
      const started = Array.from({ length: count }, () => spawn('worker', extraEnv));
      await Promise.all(started.map(ready));
      return started;
    },
    keys: (code) => couponKeys(environment.config.REDIS_PREFIX, code),
    // Processes first (SIGCONT: a stopped one cannot die), then the database. The Redis server
    // is the scenario's own and goes with it, so its keys need no deleting.
    teardown: () =>
      (tornDown ??= (async () => {
        for (const { process } of services) if (process.child.exitCode === null) process.signal('SIGCONT');
        await Promise.all(services.map(({ process }) => process.kill()));
        // CHAOS_LOG_DIR=dir keeps every service's output (evidence for a report): dir/<database>-<service>.log.
        const logDir = globalThis.process.env.CHAOS_LOG_DIR;
        if (logDir) {
          await mkdir(logDir, { recursive: true });
          await Promise.all(services.map(({ name, process }) => writeFile(join(logDir, `${databaseName}-${name}.log`), process.output())));
        }
        environment.redis.disconnect();
        await environment.db.destroy();
        await dropDatabase(environment.config.DATABASE_URL).catch((error: Error) => log(`could not drop ${databaseName}: ${error.message}`));
      })()),
  };
  onTeardown(cluster.teardown);
  try {
    await environment.db
      .insertInto('coupon')
      .values(spec.coupons.map(({ code, limit }) => ({ id: randomUUID(), code, name: `Chaos ${code}`, discount_amount: 100, total_quantity: limit })))
      .execute();
    const apis = Array.from({ length: spec.apis }, () => spawn('api'));
    const workers = spec.workers.map((extraEnv) => spawn('worker', extraEnv));
    [cluster.apiUrls] = await Promise.all([Promise.all(apis.map(({ process }) => apiReady(process, STARTUP_TIMEOUT_MS))), Promise.all(workers.map(ready))]);
    log(`cluster up: ${spec.apis} API (${cluster.apiUrls.join(', ')}), ${spec.workers.length} workers, database ${databaseName}, Redis ${spec.redisUrl}`);
    return cluster;
  } catch (error) {
    await cluster.teardown();
    throw error;
  }
}
