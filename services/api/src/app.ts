import { once } from 'node:events';
import express, { type Express, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { RedisClient } from '@coupons/shared/redis';
import { duplicateRedis } from '@coupons/shared/runtime';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { Database } from '@coupons/shared/db';
import type { IssueQueues } from '@coupons/shared/queue';
import { couponScripts, publishCouponChange, type CouponRedis } from '@coupons/shared/redis';
import { adminRouter } from './admin/admin-router.ts';
import { AdminTokens } from './admin/admin-tokens.ts';
import { HealRequests } from './admission/heal-requests.ts';
import { IssueEnqueuer } from './admission/issue-enqueuer.ts';
import type { ReplicaAck } from './admission/replica-ack.ts';
import { CouponCatalog } from './coupons/coupon-catalog.ts';
import { createIdentify, installIdentity } from './http/identity.ts';
import { notFoundHandler, problemMiddleware } from './errors/problem-middleware.ts';
import { refuseOversizedBodies } from './http/body-limit.ts';
import { createOpsApp } from './ops-app.ts';
import { createDashboard, type Dashboard } from './dashboard/create-dashboard.ts';
import { apiExpress } from './http/api-router.ts';
import { privateResponse } from './http/response-headers.ts';
import { createApiMetrics, type ApiMetrics } from './metrics/metrics.ts';
import { readQueueDepths, readShardDepths } from './metrics/queue-depth.ts';
import { couponsRouter } from './routes/coupons.ts';
import { docsRouter } from './routes/docs.ts';
import { healthRouter, type Readiness } from './routes/health.ts';
import { issueRequestsRouter } from './routes/issue-requests.ts';
import { meRouter } from './routes/me.ts';
import { ticketEventsRouter } from './routes/ticket-events.ts';
import { ticketsRouter, type TicketLookup } from './routes/tickets.ts';
import { subscriberOptions, type OpenSubscriber } from './sse/decisions-subscription.ts';
import { TicketStreamHub } from './sse/ticket-stream-hub.ts';

export interface AppDeps {
  config: Config;
  log: Logger;
  redis: CouponRedis;
  /** The issue queue's shards (QUEUE_SHARDS): a coupon's jobs go to its shard. */
  queues: IssueQueues;
  db: Kysely<Database>;
  /** ADMISSION_DURABILITY=replica: the replication confirmer (admission/replica-ack.ts). */
  replicaAck?: ReplicaAck;
  /** Readiness's own connections (main.ts), so request load never starves /readyz; default: `redis` and `db`. */
  probes?: { redis: RedisClient; db: Kysely<Database> };
  /** Opens the ticket streams' one subscriber connection (main.ts: connectRedis, Sentinel-aware); default: a duplicate of `redis`. */
  openTicketEventsSubscriber?: OpenSubscriber;
  /** Opens the coupon-change announcements' subscriber connection (main.ts: connectRedis); default: a duplicate of `redis`. */
  openCouponChangesSubscriber?: OpenSubscriber;
}

export interface ApiApp {
  app: Express;
  readiness: Readiness;
  catalog: CouponCatalog;
  metrics: ApiMetrics;
  /** The operations listener's app (OPS_PORT): /metrics, /healthz, /readyz. */
  ops: Express;
  /** The live dashboard on the operations port (undefined without ADMIN_TOKEN); stop() on shutdown. */
  dashboard: Dashboard | undefined;
  /** The ticket streams (SSE) and their one Redis subscription; close() ends them all (shutdown). */
  ticketStreams: TicketStreamHub;
}

function countRequests(metrics: ApiMetrics): RequestHandler {
  return (req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      // A ticket stream's duration is how long its ticket waited, not a latency (and a batch ends hundreds at once).
      if (!res.locals.ticketStream) stop({ route });
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

/** A subscriber connection like `redis` (same server, options, Sentinel), once ready. */
async function duplicateSubscriber(redis: RedisClient, connectionName: string): Promise<RedisClient> {
  const subscriber = duplicateRedis(redis, subscriberOptions(connectionName));
  subscriber.on('error', () => {});
  try {
    if (subscriber.status !== 'ready') await once(subscriber, 'ready');
  } catch (error) {
    subscriber.disconnect();
    throw error;
  }
  return subscriber;
}

/** Builds the API (no listening): dependencies come in, so tests build it against throwaway databases. */
export async function createApp(deps: AppDeps): Promise<ApiApp> {
  const { config, log, redis, queues, db, replicaAck } = deps;
  const catalog = new CouponCatalog(db, log);
  await catalog.start();
  // Coupons created or changed at run time (admin API) reach this replica within a second.
  await catalog.followChanges(deps.openCouponChangesSubscriber ?? (() => duplicateSubscriber(redis, `${config.REDIS_PREFIX}:coupon-changes`)), config.REDIS_PREFIX);
  // A reconnected Redis may be an older one (restarted from its AOF, a replica promoted):
  // admissions re-read Postgres's high-water marks before trusting it (see CouponCatalog).
  for (const event of ['close', 'ready'] as const) redis.on(event, () => catalog.distrustFloors());
  let ticketStreams: TicketStreamHub | undefined;
  const metrics = createApiMetrics(
    () => readQueueDepths(redis, config.REDIS_PREFIX, catalog.codes()),
    () => ticketStreams?.openStreams ?? 0,
    () => readShardDepths(queues),
  );
  const readiness: Readiness = { accepting: true };

  // One spelling per route, nosniff on every answer (http/api-router.ts).
  const app = apiExpress();
  app.use(privateResponse);
  app.use(countRequests(metrics));
  // Shutting down: answer, then close the connection, so keep-alive clients cannot keep it open.
  app.use((_req, res, next) => {
    if (!readiness.accepting) res.set('Connection', 'close');
    next();
  });
  app.use(refuseOversizedBodies(config.BODY_LIMIT_BYTES));
  app.use(express.json({ limit: config.BODY_LIMIT_BYTES, strict: true, type: ['application/json', 'application/*+json'] }));

  app.use(installIdentity(createIdentify(config, log)));
  // The hot paths of a burst first: express tries routers in order.
  const scripts = couponScripts(redis, config.REDIS_PREFIX);
  const enqueuer = new IssueEnqueuer(queues, scripts, { maxBatch: config.ENQUEUE_MAX_BATCH, windowMs: config.ENQUEUE_WINDOW_MS });
  app.use(issueRequestsRouter({ config, scripts, db, catalog, metrics, heals: new HealRequests(queues), replicaAck, enqueuer }));
  const lookup: TicketLookup = { redis, db, prefix: config.REDIS_PREFIX, catalog };
  ticketStreams = new TicketStreamHub({
    lookup,
    openSubscriber: deps.openTicketEventsSubscriber ?? (() => duplicateSubscriber(redis, `${config.REDIS_PREFIX}:ticket-events`)),
    log,
    maxStreams: config.SSE_MAX_STREAMS,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    positionIntervalMs: config.SSE_POSITION_INTERVAL_MS,
    resyncMs: config.SSE_RESYNC_MS,
    onEventSent: (status) => metrics.ticketEventsSent.inc({ status }),
  });
  app.use(ticketEventsRouter(lookup, ticketStreams, config.RETRY_AFTER_SECONDS));
  app.use(ticketsRouter(lookup));
  app.use(couponsRouter(db));
  app.use(meRouter(db));
  // The probes answer here too (DESIGN.md); Kubernetes asks the operations port. /metrics is only there.
  const health = healthRouter(deps.probes?.redis ?? redis, deps.probes?.db ?? db, readiness, config.RETRY_AFTER_SECONDS);
  app.use(health);
  app.use(docsRouter());

  app.use(notFoundHandler());
  app.use(problemMiddleware(log, config.RETRY_AFTER_SECONDS));
  // The dashboard's figures cover every replica: each publishes its counters (stats/).
  const dashboard = createDashboard({ config, log, redis, db, metrics });
  // The admin API, only with ADMIN_TOKEN (main.ts says so at start-up otherwise); the dashboard's sessions may call it too.
  const admin = config.ADMIN_TOKEN.length === 0 ? undefined : adminRouter(
    { config, log, db, redis, scripts, announce: async (code) => void (await publishCouponChange(redis, config.REDIS_PREFIX, code)) },
    { tokens: new AdminTokens(config.ADMIN_TOKEN), sessions: dashboard?.sessions, bodyLimitBytes: config.BODY_LIMIT_BYTES },
  );
  const ops = createOpsApp({ log, retryAfterSeconds: config.RETRY_AFTER_SECONDS, metrics, health, admin, dashboard: dashboard?.router });
  return { app, readiness, catalog, metrics, ops, ticketStreams, dashboard };
}
