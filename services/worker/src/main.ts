// One worker replica: `pnpm start:worker`. Start several side by side; SIGTERM stops it gracefully.
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { registerCommands } from '@coupons/shared/redis';
import { checkPostgres, connectRedis, onShutdownSignal, redisTarget, runMain } from '@coupons/shared/runtime';
import { faultInjectionHooks } from './fault-injection.ts';
import { startIssueWorker, SUBSCRIBER_OPTIONS } from './worker.ts';
import { WORKER_DB_POOL_SIZE } from './pool-sizes.ts';

await runMain('worker', async (log) => {
  const config = loadConfig();
  log.level = config.LOG_LEVEL;
  // REDIS_URL's host, or the sentinels' primary (BullMQ's duplicates of bullConnection follow too).
  const target = redisTarget(config);
  const redis = registerCommands(await connectRedis(target, { enableAutoPipelining: true, maxRetriesPerRequest: 3 }));
  const bullConnection = await connectRedis(target, { maxRetriesPerRequest: null });
  for (const connection of [redis, bullConnection]) {
    connection.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  }
  const db = createDb(config.DATABASE_URL, {
    maxConnections: WORKER_DB_POOL_SIZE,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    // A worker paused inside a transaction must not keep the coupon row locked past its lease.
    idleInTransactionTimeoutMs: config.LOCK_LEASE_MS,
    applicationName: 'coupons-worker',
  });
  await checkPostgres(db, config.DATABASE_URL);

  // Tests and `pnpm chaos` pause batches through FAULT_*; without them the worker has no hooks.
  const deps = { config, log, redis, db, hooks: faultInjectionHooks(config, log) };
  const issueWorker = await startIssueWorker(deps, bullConnection, {
    // Coupons created or changed at run time: one subscriber connection, through the one factory (Sentinel-aware).
    openCouponChangesSubscriber: () => connectRedis(target, { ...SUBSCRIBER_OPTIONS, connectionName: `${config.REDIS_PREFIX}:coupon-changes` }),
  });
  log.info({ concurrency: config.WORKER_CONCURRENCY, queueShards: config.QUEUE_SHARDS, consumedShards: issueWorker.workers.length, batchSize: config.BATCH_SIZE, leaseMs: config.LOCK_LEASE_MS }, 'worker started');

  onShutdownSignal(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
    await issueWorker.close();
    await Promise.allSettled([redis.quit(), bullConnection.quit()]);
    await db.destroy();
    log.info('worker stopped');
  });
});
