// The cluster one scenario runs against, as the harness starts it: a fresh database (on the
// shared Postgres, or on a private one), the scenario's own coupons, the scenario's private Redis,
// and API and worker processes exactly as `pnpm start:api` / `start:worker` run them — each one
// killable, stoppable and replaceable on its own. What is chaos's own: workers log at debug
// ("batch decided" lines, with time, coupon and fence, are how a scenario sees who decided what
// and when the workers made progress again after a fault), and teardown kills.
import { randomBytes } from 'node:crypto';
import { startLocalCluster, type ClusterService, type CouponSpec, type LocalCluster } from '@coupons/harness/cluster';

export type { CouponSpec };
export type ChaosService = ClusterService;
export type ChaosCluster = LocalCluster;

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

const STARTUP_TIMEOUT_MS = 90_000;

export async function startChaosCluster(spec: ClusterSpec, log: (line: string) => void, onTeardown: (teardown: () => Promise<void>) => void): Promise<ChaosCluster> {
  const databaseName = `coupons_chaos_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const cluster = await startLocalCluster({
    apis: spec.apis,
    workers: spec.workers,
    overrides: { REDIS_URL: spec.redisUrl, ...(spec.databaseUrl && { DATABASE_URL: spec.databaseUrl(databaseName) }), ...spec.env },
    apiEnv: spec.apiEnv ?? {},
    workerEnv: { LOG_LEVEL: 'debug' },
    coupons: spec.coupons,
    startupTimeoutMs: STARTUP_TIMEOUT_MS,
    stopWith: 'kill',
    // The Redis server is the scenario's own and goes with it: its keys need no deleting.
    privateRedis: true,
    // CHAOS_LOG_DIR=dir keeps every service's output (evidence for a report).
    ...(process.env.CHAOS_LOG_DIR && { logDir: process.env.CHAOS_LOG_DIR }),
    onTeardown,
  });
  log(`cluster up: ${spec.apis} API (${cluster.apiUrls.join(', ')}), ${spec.workers.length} workers, database ${new URL(cluster.environment.config.DATABASE_URL).pathname.slice(1)}, Redis ${spec.redisUrl}`);
  return cluster;
}
