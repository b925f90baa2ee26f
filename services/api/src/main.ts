// One API replica: `pnpm start:api`. Listens on PORT; stops gracefully on SIGTERM.
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { ISSUE_QUEUE_NAME, queuePrefix, registerCommands } from '@coupons/shared/redis';
import { checkPostgres, connectRedis, onShutdownSignal, runMain } from '@coupons/shared/runtime';
import type { IssueJobData } from '@coupons/shared/queue';
import { createApp } from './app.ts';
import { apiRedisOptions } from './redis-options.ts';

await runMain('api', async (log) => {
  const config = loadConfig();
  log.level = config.LOG_LEVEL;
  const redis = registerCommands(await connectRedis(config.REDIS_URL, apiRedisOptions()));
  const queueConnection = await connectRedis(config.REDIS_URL, apiRedisOptions());
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  queueConnection.on('error', (err) => log.warn({ err: err.message }, 'redis (queue) connection error'));
  const db = createDb(config.DATABASE_URL, { maxConnections: 10, statementTimeoutMs: 5_000, applicationName: 'coupons-api' });
  await checkPostgres(db, config.DATABASE_URL);
  const queue = new Queue<IssueJobData>(ISSUE_QUEUE_NAME, { connection: queueConnection, prefix: queuePrefix(config.REDIS_PREFIX) });
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));

  const { app, readiness, catalog } = await createApp({ config, log, redis, queue, db });
  const server = app.listen(config.PORT);
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000; // longer than typical load-balancer idle timeouts
  const { port } = server.address() as AddressInfo;
  log.info({ port }, `API listening on http://localhost:${port} (docs: http://localhost:${port}/docs)`);

  onShutdownSignal(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
    // Readiness first, so the balancer stops sending; then let in-flight requests finish.
    readiness.accepting = false;
    if (config.SHUTDOWN_READINESS_DELAY_MS > 0) await delay(config.SHUTDOWN_READINESS_DELAY_MS);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    catalog.stop();
    await queue.close();
    await Promise.allSettled([redis.quit(), queueConnection.quit()]);
    await db.destroy();
    log.info('API stopped');
  });
});
