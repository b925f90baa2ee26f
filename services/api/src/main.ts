// One API replica: `pnpm start:api`. Listens on PORT; stops gracefully on SIGTERM.
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { registerCommands } from '@coupons/shared/redis';
import { checkPostgres, connectRedis, onShutdownSignal, redisTarget, runMain } from '@coupons/shared/runtime';
import { openIssueQueue } from '@coupons/shared/queue';
import { createApp } from './app.ts';
import { API_DB_POOL_SIZE } from './pool-sizes.ts';
import { ReplicaAck } from './admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from './redis-options.ts';

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
    });
    await replicaAck.ready();
  }
  const db = createDb(config.DATABASE_URL, { maxConnections: API_DB_POOL_SIZE, statementTimeoutMs: 5_000, applicationName: 'coupons-api' });
  await checkPostgres(db, config.DATABASE_URL);
  const queue = openIssueQueue(queueConnection, config.REDIS_PREFIX);
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));

  const { app, readiness, catalog } = await createApp({ config, log, redis, queue, db, replicaAck });
  const server = app.listen(config.PORT);
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000; // longer than typical load-balancer idle timeouts
  const { port } = server.address() as AddressInfo;
  log.info({ port, sentinels: config.REDIS_SENTINELS?.length ?? 0, durability: config.ADMISSION_DURABILITY }, `API listening on http://localhost:${port} (docs: http://localhost:${port}/docs)`);

  onShutdownSignal(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Readiness first, so the balancer stops sending; then let in-flight requests finish.
    readiness.accepting = false;
    if (config.SHUTDOWN_READINESS_DELAY_MS > 0) await delay(config.SHUTDOWN_READINESS_DELAY_MS);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    catalog.stop();
    await queue.close();
    replicaAck?.close();
    await Promise.allSettled([redis.quit(), queueConnection.quit(), ...(ackConnection ? [ackConnection.quit()] : [])]);
    await db.destroy();
    log.info('API stopped');
  });
});
