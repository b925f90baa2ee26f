// P2's reference: a raw BullMQ worker with a no-op processor on this system's queue (same
// queue name, prefix and WORKER_CONCURRENCY as a worker replica): BullMQ's own per-job cost.
import { Worker } from 'bullmq';
import { loadConfig } from '@coupons/shared/config';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { connectRedis, onShutdownSignal, runMain } from '@coupons/shared/runtime';
import { READY_LINE } from './issue-app.ts';

await runMain('bench-raw-worker', async (log) => {
  const config = loadConfig();
  const connection = await connectRedis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(ISSUE_QUEUE_NAME, async () => {}, {
    connection,
    prefix: queuePrefix(config.REDIS_PREFIX),
    concurrency: config.WORKER_CONCURRENCY,
  });
  worker.on('error', (error) => log.warn({ err: error.message }, 'worker error'));
  await worker.waitUntilReady();
  process.stdout.write(`${READY_LINE} 0\n`);
  onShutdownSignal(log, 5_000, async () => {
    await worker.close();
    await connection.quit();
  });
});
