// One API replica: `pnpm start:api`. Listens on PORT (the public API, with its limits) and on
// OPS_PORT (metrics and probes); stops gracefully on SIGTERM.
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { couponKeys, queueWaitListKey, registerCommands, replicaAckMarkerKey } from '@coupons/shared/redis';
import { checkPostgres, connectRedis, onShutdownSignal, redisTarget, runMain } from '@coupons/shared/runtime';
import { openIssueQueues, recordQueueShards, shardOfCoupon } from '@coupons/shared/queue';
import { createApp } from './app.ts';
import { listen, listenOps } from './http/server-limits.ts';
import { API_DB_POOL_SIZE, API_READINESS_DB_POOL_SIZE } from './pool-sizes.ts';
import { ReplicaAck } from './admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from './redis-options.ts';
import { subscriberOptions } from './sse/decisions-subscription.ts';

await runMain('api', async (log) => {
  const config = loadConfig();
  log.level = config.LOG_LEVEL;
  // Every connection goes through the one factory: REDIS_URL's host, or the sentinels' primary.
  const target = redisTarget(config);
  const redis = registerCommands(await connectRedis(target, apiRedisOptions()));
  const queueConnection = await connectRedis(target, apiRedisOptions());
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  queueConnection.on('error', (err) => log.warn({ err: err.message }, 'redis (queue) connection error'));
  // ADMISSION_DURABILITY=replica: a 202 only once a replica has the admission (admission/replica-ack.ts).
  let replicaAck: ReplicaAck | undefined;
  const ackConnection = config.ADMISSION_DURABILITY === 'replica' ? await connectRedis(target, replicaAckRedisOptions(config.ADMISSION_REPLICA_TIMEOUT_MS)) : undefined;
  if (ackConnection) {
    ackConnection.on('error', (err) => log.warn({ err: err.message }, 'redis (replica ack) connection error'));
    replicaAck = new ReplicaAck({
      ackConnection,
      writeConnections: [redis, queueConnection],
      timeoutMs: config.ADMISSION_REPLICA_TIMEOUT_MS,
      retryAfterSeconds: config.RETRY_AFTER_SECONDS,
      channel: `${config.REDIS_PREFIX}:replica-ack`,
      // A Redis Cluster: WAIT on the primaries of the coupon's slot and of its queue shard's slot.
      ...(config.REDIS_CLUSTER_NODES
        ? {
            cluster: {
              slotKeys: (code: string) => [couponKeys(config.REDIS_PREFIX, code).meta, queueWaitListKey(config.REDIS_PREFIX, shardOfCoupon(code, config.QUEUE_SHARDS), config.QUEUE_SHARDS)],
              markerKey: (slotKey: string) => replicaAckMarkerKey(config.REDIS_PREFIX, slotKey),
            },
          }
        : {}),
    });
    await replicaAck.ready();
  }
  const db = createDb(config.DATABASE_URL, { maxConnections: API_DB_POOL_SIZE, statementTimeoutMs: 5_000, applicationName: 'coupons-api' });
  await checkPostgres(db, config.DATABASE_URL);
  // Readiness's own connections: a flood of reads filling the request pool cannot fail /readyz.
  const probes = {
    db: createDb(config.DATABASE_URL, { maxConnections: API_READINESS_DB_POOL_SIZE, statementTimeoutMs: 1_000, applicationName: 'coupons-api-readiness' }),
    redis: await connectRedis(target, apiRedisOptions()),
  };
  probes.redis.on('error', (err) => log.warn({ err: err.message }, 'redis (readiness) connection error'));
  // The issue queue's shards (QUEUE_SHARDS), on one connection; the count is recorded for the workers to check.
  const queues = openIssueQueues(queueConnection, config.REDIS_PREFIX, config.QUEUE_SHARDS);
  for (const queue of queues.all) queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));
  await recordQueueShards(redis, config.REDIS_PREFIX, config.QUEUE_SHARDS);

  // The ticket streams' one subscriber connection, opened by the first stream (sse/decisions-subscription.ts).
  const openTicketEventsSubscriber = () => connectRedis(target, subscriberOptions(`${config.REDIS_PREFIX}:ticket-events`));
  // The admin API's change announcements (coupons created or changed at run time): one subscriber connection.
  const openCouponChangesSubscriber = () => connectRedis(target, subscriberOptions(`${config.REDIS_PREFIX}:coupon-changes`));
  const { app, ops, readiness, catalog, metrics, ticketStreams, dashboard } = await createApp({ config, log, redis, queues, db, replicaAck, probes, openTicketEventsSubscriber, openCouponChangesSubscriber });
  // The operations port first: the start-up record below names both ports (the harness reads it).
  const opsListener = await listenOps(ops, config);
  const { server, port } = await listen(app, config, { onRefused: (reason) => metrics.connectionsRefused.inc({ reason }) });
  const opsPort = opsListener.port;
  log.info(
    { port, opsPort, sentinels: config.REDIS_SENTINELS?.length ?? 0, durability: config.ADMISSION_DURABILITY },
    `API listening on http://localhost:${port} (docs: http://localhost:${port}/docs; metrics: http://localhost:${opsPort}/metrics)`,
  );
  if (config.ADMIN_TOKEN.length === 0) {
    log.info({ admin: false }, `Admin API off: ADMIN_TOKEN is not set (set it to one or more comma-separated secrets of 32+ characters, e.g. $(openssl rand -hex 32), to serve /admin/v1 on port ${opsPort})`);
  } else {
    log.info({ admin: true, adminTokens: config.ADMIN_TOKEN.length }, `Admin API on http://localhost:${opsPort}/admin/v1 (OpenAPI: /admin/v1/openapi.json; dashboard: http://localhost:${opsPort}/dashboard)`);
  }

  onShutdownSignal(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Readiness first, so the balancer stops sending; then let in-flight requests finish.
    readiness.accepting = false;
    if (config.SHUTDOWN_READINESS_DELAY_MS > 0) await delay(config.SHUTDOWN_READINESS_DELAY_MS);
    // Streams never end by themselves: end them (their clients reconnect to another replica and get
    // the current state at once), or the listener would wait for them until the shutdown timeout.
    ticketStreams.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await new Promise<void>((resolve) => {
      opsListener.server.close(() => resolve());
      opsListener.server.closeAllConnections();
    });
    catalog.stop();
    // Withdraws this replica's snapshot, so the dashboards stop counting it at once.
    await dashboard?.stop();
    await queues.close();
    replicaAck?.close();
    await Promise.allSettled([redis.quit(), queueConnection.quit(), probes.redis.quit(), ...(ackConnection ? [ackConnection.quit()] : [])]);
    await Promise.all([db.destroy(), probes.db.destroy()]);
    log.info('API stopped');
  });
});
