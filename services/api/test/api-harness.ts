import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '@coupons/shared/runtime';
import { ISSUE_QUEUE_NAME, queuePrefix, registerCommands } from '@coupons/shared/redis';
import type { IssueJobData } from '@coupons/shared/queue';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';
import { loadConfig } from '@coupons/shared/config';
import { createApp, type ApiApp } from '../src/app.ts';
import { apiRedisOptions } from '../src/redis-options.ts';

/** An in-process API on a random port, over its own database and Redis prefix. */
export interface TestApi {
  baseUrl: string;
  env: TestEnvironment;
  api: ApiApp;
  queue: Queue<IssueJobData>;
  close(): Promise<void>;
}

export async function startTestApi(overrides: Record<string, string> = {}): Promise<TestApi> {
  const env = await createTestEnvironment(overrides);
  const config = loadConfig(env.env);
  const log = createLogger('api-test', 'silent');
  const redis = registerCommands(new Redis(config.REDIS_URL, apiRedisOptions()));
  const queueConnection = new Redis(config.REDIS_URL, apiRedisOptions());
  await Promise.all([once(redis, 'ready'), once(queueConnection, 'ready')]);
  const queue = new Queue<IssueJobData>(ISSUE_QUEUE_NAME, { connection: queueConnection, prefix: queuePrefix(config.REDIS_PREFIX) });
  const api = await createApp({ config, log, redis, queue, db: env.db });
  const server: Server = api.app.listen(0);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    env,
    api,
    queue,
    async close() {
      api.catalog.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await queue.close();
      redis.disconnect();
      queueConnection.disconnect();
      await env.cleanup();
    },
  };
}
