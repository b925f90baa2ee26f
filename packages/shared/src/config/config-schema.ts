import { z } from 'zod';
import { checkIdentity, identityFields } from './identity-config.ts';

const int = (min: number) => z.coerce.number().int().min(min);

/**
 * Milliseconds: below 2^31, the largest delay Node's timers take (a larger one fires at once)
 * and the largest Postgres takes for its integer timeouts (statement, idle in transaction).
 */
const MAX_MS = 2 ** 31 - 1;
const ms = (min: number) => int(min).max(MAX_MS, `must be below 2^31 ms (about 24.8 days)`);
/** Seconds, bounded so they stay a duration in ms too. */
const seconds = (min: number) => int(min).max(Math.floor(MAX_MS / 1000), 'must be at most 2147483 s (about 24.8 days)');

/**
 * The slowest Postgres a batch is sized for: 0.2 ms per ticket (5,000 rows/s, about 18 times
 * slower than the 500-row batches measured here). The statement timeout must cover a whole batch at
 * that speed, or every batch would time out.
 */
const MS_PER_TICKET_AT_WORST = 0.2;

// Redis high availability (issue 8): `host:port,host:port,…` (a host may be an [IPv6] literal).
const SENTINELS_FORM = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}(?:,(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})*$/;
export interface SentinelAddress {
  host: string;
  port: number;
}
const parseSentinels = (list: string, ctx: z.RefinementCtx): SentinelAddress[] =>
  list.split(',').map((entry) => {
    const colon = entry.lastIndexOf(':');
    const port = Number(entry.slice(colon + 1));
    if (port < 1 || port > 65535) ctx.addIssue({ code: 'custom', message: `port ${port} of ${entry} is not in 1-65535` });
    return { host: entry.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
  });

/** The shortest admin token accepted: 32 characters (e.g. `openssl rand -hex 32` gives 64). */
export const ADMIN_TOKEN_MIN_LENGTH = 32;

/**
 * `ADMIN_TOKEN` as a list: comma-separated, blanks dropped, each at least 32 characters. An issue
 * names the entry by its position and length only: a secret is never echoed.
 */
export function parseAdminTokens(list: string | undefined, ctx?: z.RefinementCtx): readonly string[] {
  const tokens = (list ?? '').split(',').map((token) => token.trim()).filter((token) => token !== '');
  tokens.forEach((token, index) => {
    if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
      ctx?.addIssue({
        code: 'custom',
        message: `token ${index + 1} of ${tokens.length} has ${token.length} characters, needs at least ${ADMIN_TOKEN_MIN_LENGTH} (e.g. openssl rand -hex 32)`,
      });
    }
  });
  return Object.freeze(tokens);
}

/**
 * Every environment variable the API and the worker read, with its default.
 * The README's configuration table and the k8s ConfigMap list exactly these.
 */
export const configFields = z.object({
  PORT: int(0).max(65535).default(3000),
  /**
   * The operations listener: /metrics and the probes (/healthz, /readyz), never the public API's
   * limits or its Ingress. Kubernetes exposes it only inside the cluster. 0: any free port (tests).
   */
  OPS_PORT: int(0).max(65535).default(3001),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/coupons'),
  /** Prefix of every Redis key (and of the BullMQ queue): lets several deployments or test runs share one Redis. */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ or - (1-64)').default('coupons'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** Per coupon: admitted-but-undecided tickets above this are answered 503 OVERLOADED. */
  ADMISSION_MAX_BACKLOG: int(1).default(100_000),
  /** The most admitted tickets one BullMQ job carries (an API batches the tickets it admits per coupon: see issue-enqueuer.ts). */
  ENQUEUE_MAX_BATCH: int(1).max(5_000).default(500),
  /** How long an idle coupon's first admitted ticket waits for company before its job is added; 0: the next event-loop turn (batches still form while an add is in flight). */
  ENQUEUE_WINDOW_MS: int(0).max(50).default(0),
  /** Seconds a client is told to wait (Retry-After) on 503. */
  RETRY_AFTER_SECONDS: seconds(1).default(2),
  /** How long a final ticket stays pollable in Redis (a winner's ticket is answered from Postgres after that). */
  TICKET_TTL_SECONDS: seconds(60).default(86_400),
  /**
   * Once a coupon is sold out with every ticket final, or its event has ended, how long its
   * Redis state (dedupe, pending, counters, mirror) is kept before it expires; later requests
   * are answered from Postgres.
   */
  EVENT_RETENTION_SECONDS: seconds(1).default(86_400),
  /** Largest accepted request body; bigger ones get 413 and the connection is closed (no reading on). */
  BODY_LIMIT_BYTES: int(64).default(4096),

  // ── Limits of the public listener (issue 11; services/api/src/http/server-limits.ts) ──────────
  /** Open connections one API process accepts on PORT; the next ones are closed at once (the ops port is not counted). */
  HTTP_MAX_CONNECTIONS: int(1).max(1_000_000).default(4096),
  /**
   * Open connections from one client address; 0: no per-address cap. Leave 0 behind a load
   * balancer or an Ingress (every connection then comes from its few addresses).
   */
  HTTP_MAX_CONNECTIONS_PER_CLIENT: int(0).max(1_000_000).default(0),
  /** Time a client has to send a request's headers (slowloris); then 408 and the connection closes. */
  HTTP_HEADERS_TIMEOUT_MS: ms(100).default(5_000),
  /** Time a client has to send a whole request, body included; then 408 and the connection closes. */
  HTTP_REQUEST_TIMEOUT_MS: ms(100).default(10_000),
  /**
   * How long an idle keep-alive connection stays open between requests. Must exceed the idle
   * timeout of whatever balances in front (ingress-nginx upstream keep-alive 60 s, AWS ALB 60 s),
   * or the balancer may send on a connection the API is closing (a 502).
   */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: ms(1_000).default(65_000),
  /** Requests one connection may have in flight at once (pipelined); one more and the connection is closed. */
  HTTP_MAX_PIPELINED_REQUESTS: int(1).max(10_000).default(16),
  // ── end of the public listener's limits ───────────────────────────────────────────────────────

  // ── Tickets pushed over SSE (issue 13; services/api/src/sse/) ─────────────────────────────────
  /** Ticket streams (GET /v1/tickets/{id}/events) one API process holds open; the next one gets 503 OVERLOADED. Each is also a connection: see HTTP_MAX_CONNECTIONS. */
  SSE_MAX_STREAMS: int(1).max(1_000_000).default(20_000),
  /** A `: ping` comment on every open stream this often, so proxies and balancers do not close it as idle (ingress-nginx: 60 s). */
  SSE_HEARTBEAT_MS: ms(100).max(60_000, 'must be at most 60000 ms: proxies close idle streams after ~60 s').default(15_000),
  /** A stream's position is pushed at most this often (the contract: at most once a second). Each push is one write per queued stream: raise it to spare a process with many streams. */
  SSE_POSITION_INTERVAL_MS: ms(1_000).default(1_000),
  /** Every open stream's ticket is re-read this often (one pipelined read per coupon), in case a decision's message was lost. */
  SSE_RESYNC_MS: ms(1_000).default(5_000),

  /** BullMQ jobs one worker process holds at once per queue shard it consumes (most of them only wait for their coupon's batch). */
  WORKER_CONCURRENCY: int(1).default(64),
  /**
   * The issue queue's shards (issue 14; packages/shared/src/queue/): N BullMQ queues, each in its
   * own Redis Cluster slot; a coupon's jobs go to FNV-1a(code) mod N. Every API and worker must use
   * the same N (a worker refuses to start when the APIs recorded another). 1: the single queue of before.
   */
  QUEUE_SHARDS: int(1).max(256).default(1),
  /** The shards this worker consumes, e.g. `0,2`; unset: every shard. Each must be below QUEUE_SHARDS; together the workers must cover them all. */
  WORKER_QUEUE_SHARDS: z
    .string()
    .regex(/^\d{1,3}(,\d{1,3})*$/, 'expected shard numbers separated by commas, e.g. 0,2')
    .transform((list) => [...new Set(list.split(',').map(Number))].sort((a, b) => a - b))
    .optional(),
  /** Tickets decided in one Postgres transaction. */
  BATCH_SIZE: int(1).max(10_000).default(500),
  /** Coupon lock lease; renewed every third of it while held. Must exceed the longest batch. */
  LOCK_LEASE_MS: ms(500).default(10_000),
  /** Postgres statement timeout for the worker, shorter than the lease (default: half of it, at most 5 s). */
  DB_STATEMENT_TIMEOUT_MS: ms(100).optional(),
  /** How often the reconciler looks for admitted tickets without a job. */
  RECONCILE_INTERVAL_MS: ms(100).default(5_000),
  /** A ticket younger than this is not reconciled (its API may still be enqueueing it). */
  RECONCILE_GRACE_MS: ms(0).default(5_000),
  /**
   * A coupon's oldest pending ticket older than this gets a job in its coupon's queue shard, in case
   * its job sits in a shard nobody reads any more (QUEUE_SHARDS changed while jobs waited).
   */
  RECONCILE_STUCK_MS: ms(1_000).default(60_000),
  /** BullMQ stalled-job check: how soon a dead worker's jobs are handed out again. */
  STALLED_INTERVAL_MS: ms(500).default(5_000),
  /**
   * API: after SIGTERM, how long to keep serving with readiness false before closing the
   * listener, so load balancers (Kubernetes endpoints) stop sending first. 0 locally.
   */
  SHUTDOWN_READINESS_DELAY_MS: ms(0).default(0),
  /** Graceful shutdown deadline before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: ms(100).default(15_000),

  // ── Redis high availability (issue 8): Sentinel discovery and durable admission ──────────────
  /**
   * Sentinels to find the Redis primary through: `host:port,host:port,…`. Unset: REDIS_URL's host
   * is the primary. Set: REDIS_URL keeps only the password and the database index.
   */
  REDIS_SENTINELS: z
    .string()
    .regex(SENTINELS_FORM, 'expected host:port[,host:port…], e.g. redis-sentinel-0:26379,redis-sentinel-1:26379')
    .transform(parseSentinels)
    .optional(),
  /**
   * Redis Cluster (issue 14): some of the cluster's nodes, `host:port,host:port,…` (the client
   * learns the rest from them). Takes the place of REDIS_URL's host and port; REDIS_URL then gives
   * only the user, the password and TLS (`rediss:`); its database index must be 0 (a cluster has
   * one database). Exclusive with REDIS_SENTINELS.
   */
  REDIS_CLUSTER_NODES: z
    .string()
    .regex(SENTINELS_FORM, 'expected host:port[,host:port…], e.g. redis-cluster-0.redis-cluster:6379,redis-cluster-1.redis-cluster:6379')
    .transform(parseSentinels)
    .optional(),
  /** The primary's name in the sentinels' configuration (`sentinel monitor <name> …`); used only with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ., _ or - (1-64)').default('mymaster'),
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf); unset: they need none. */
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  /**
   * `async` (default): 202 once the primary has the admission. `replica`: 202 only once a replica
   * has it too (WAIT 1), so a failover cannot lose an acknowledged ticket; otherwise 503 UNAVAILABLE.
   */
  ADMISSION_DURABILITY: z.enum(['async', 'replica']).default('async'),
  /** `replica` mode: how long an admission waits for the replica's acknowledgement before 503. */
  ADMISSION_REPLICA_TIMEOUT_MS: int(1).max(10_000).default(200),
  // ── end of Redis high availability ────────────────────────────────────────────────────────────

  // Identity (issue 11): jwt, gateway or trusted-header (identity-config.ts).
  ...identityFields,

  /**
   * The operators' bearer secret(s) for the admin API on OPS_PORT (issue 13): a comma-separated
   * list, so a new token can be added before the old one is removed (rotation). Each at least 32
   * characters. Unset: the admin routes are not served.
   */
  ADMIN_TOKEN: z
    .string()
    .optional()
    .transform((list, ctx) => parseAdminTokens(list, ctx)),

  /** Fault injection for tests and `pnpm chaos`: the worker waits this long between deciding a batch and writing it. */
  FAULT_DELAY_BEFORE_COMMIT_MS: ms(0).default(0),
  /** Fault injection: the worker waits this long between the Postgres commit and resolving the tickets in Redis. */
  FAULT_DELAY_AFTER_COMMIT_MS: ms(0).default(0),
});

/** Half the lease, at most 5 s: a batch statement never outlives the lease that protects it. */
function defaultStatementTimeout(leaseMs: number): number {
  return Math.min(5_000, Math.floor(leaseMs / 2));
}

export const configSchema = configFields
  .superRefine((config, ctx) => {
    if (config.OPS_PORT !== 0 && config.OPS_PORT === config.PORT) {
      ctx.addIssue({ code: 'custom', path: ['OPS_PORT'], message: `must differ from PORT (${config.PORT}): operations never share the public listener` });
    }
    // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
    if (config.HTTP_HEADERS_TIMEOUT_MS > config.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: `must be at most HTTP_REQUEST_TIMEOUT_MS (${config.HTTP_REQUEST_TIMEOUT_MS})` });
    }
    checkIdentity(config, ctx);
    // (An array only once its own check passed: zod runs this refinement after a failed field check too.)
    const outOfRange = Array.isArray(config.WORKER_QUEUE_SHARDS) ? config.WORKER_QUEUE_SHARDS.find((shard) => shard >= config.QUEUE_SHARDS) : undefined;
    if (outOfRange !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['WORKER_QUEUE_SHARDS'], message: `shard ${outOfRange} does not exist: QUEUE_SHARDS is ${config.QUEUE_SHARDS} (shards 0..${config.QUEUE_SHARDS - 1})` });
    }
    if (config.REDIS_CLUSTER_NODES && config.REDIS_SENTINELS) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'set REDIS_CLUSTER_NODES (Redis Cluster) or REDIS_SENTINELS (one primary through Sentinel), not both' });
    }
    if (config.REDIS_CLUSTER_NODES && !/^\/?0?$/.test(new URL(config.REDIS_URL).pathname)) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: `a Redis Cluster has only database 0: drop the /${new URL(config.REDIS_URL).pathname.slice(1)} from REDIS_URL (REDIS_PREFIX isolates a run)` });
    }
    // A batch statement must never outlive the lease that protects it.
    if (config.DB_STATEMENT_TIMEOUT_MS !== undefined && config.DB_STATEMENT_TIMEOUT_MS >= config.LOCK_LEASE_MS) {
      ctx.addIssue({ code: 'custom', path: ['DB_STATEMENT_TIMEOUT_MS'], message: `must be shorter than LOCK_LEASE_MS (${config.LOCK_LEASE_MS})` });
    }
    const statementTimeout = config.DB_STATEMENT_TIMEOUT_MS ?? defaultStatementTimeout(config.LOCK_LEASE_MS);
    if (config.BATCH_SIZE * MS_PER_TICKET_AT_WORST > statementTimeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['BATCH_SIZE'],
        message: `${config.BATCH_SIZE} tickets need a statement timeout of at least ${Math.ceil(config.BATCH_SIZE * MS_PER_TICKET_AT_WORST)} ms (DB_STATEMENT_TIMEOUT_MS is ${statementTimeout}): lower BATCH_SIZE or raise DB_STATEMENT_TIMEOUT_MS / LOCK_LEASE_MS`,
      });
    }
  })
  .transform((config) => ({
    ...config,
    DB_STATEMENT_TIMEOUT_MS: config.DB_STATEMENT_TIMEOUT_MS ?? defaultStatementTimeout(config.LOCK_LEASE_MS),
  }));

export type Config = Readonly<z.output<typeof configSchema>>;
