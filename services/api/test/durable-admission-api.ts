// TEST-ONLY API entry for ADMISSION_DURABILITY=replica until admit-issue-request.ts calls
// ReplicaAck itself (see replica-ack.ts): the same connections as src/main.ts (one factory, the
// sentinels), and the confirmation wired from outside the admission code: a token is taken when
// the request arrives (before any of its writes) and confirmed after Queue.add returns, so a 202
// is sent only once a replica has both the admission and its job. Spawned by
// services/worker/test/sentinel-failover.test.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Queue } from 'bullmq';
import { loadConfig } from '@coupons/shared/config';
import { createDb } from '@coupons/shared/db';
import { ISSUE_QUEUE_NAME, queuePrefix, registerCommands } from '@coupons/shared/redis';
import { checkPostgres, connectRedis, redisTarget, runMain } from '@coupons/shared/runtime';
import { createApp } from '../src/app.ts';
import { ReplicaAck, type ReplicaAckError, type ReplicaAckToken } from '../src/admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from '../src/redis-options.ts';

await runMain('api', async (log) => {
  const config = loadConfig();
  log.level = config.LOG_LEVEL;
  if (config.ADMISSION_DURABILITY !== 'replica') throw new Error('durable-admission-api.ts is for ADMISSION_DURABILITY=replica');
  const target = redisTarget(config);
  const redis = registerCommands(await connectRedis(target, apiRedisOptions()));
  const queueConnection = await connectRedis(target, apiRedisOptions());
  const ackConnection = await connectRedis(target, replicaAckRedisOptions(config.ADMISSION_REPLICA_TIMEOUT_MS));
  for (const connection of [redis, queueConnection, ackConnection]) connection.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  const db = createDb(config.DATABASE_URL, { maxConnections: 10, statementTimeoutMs: 5_000, applicationName: 'coupons-api' });
  await checkPostgres(db, config.DATABASE_URL);
  const queue = new Queue(ISSUE_QUEUE_NAME, { connection: queueConnection, prefix: queuePrefix(config.REDIS_PREFIX) });
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue error'));

  const replicaAck = new ReplicaAck({
    ackConnection,
    writeConnections: [redis, queueConnection],
    timeoutMs: config.ADMISSION_REPLICA_TIMEOUT_MS,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    channel: `${config.REDIS_PREFIX}:replica-ack`,
  });
  await replicaAck.ready();
  const requests = new AsyncLocalStorage<ReplicaAckToken>();
  const add = queue.add.bind(queue);
  queue.add = (async (...args: Parameters<typeof add>) => {
    const job = await add(...args);
    const token = requests.getStore();
    if (token) {
      await replicaAck.confirmReplicated(token).catch((error: unknown) => {
        log.warn({ reason: (error as ReplicaAckError).reason }, 'admission not confirmed by a replica: 503');
        throw error;
      });
    }
    return job;
  }) as typeof queue.add;

  const { app } = await createApp({ config, log, redis, queue, db });
  const outer = express();
  outer.use((_req, _res, next) => requests.run(replicaAck.begin(), next));
  outer.use(app);
  const server = outer.listen(config.PORT);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  log.info({ port, durability: 'replica (test wiring)' }, `API listening on http://localhost:${port}`);
});
