// How the drain rate changes with the number of worker processes, on this machine:
//   pnpm --filter @coupons/cluster drain-scaling [--tickets N] [--workers 1,2,4] [--coupons 1,3]
// For each row: a fresh database and Redis prefix; coupons of our own whose limits exceed the
// tickets (every decision writes a wallet); the queue paused; N tickets admitted through the API
// (`pnpm cluster`'s one port, distinct users, spread over the coupons); the API stopped; M worker
// processes started; then the clock runs from the queue's resume until every coupon's pending set
// is empty (every ticket decided and resolved).
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { couponKeys, ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';
import { startCluster } from './cluster.ts';

const ADMIT_CONCURRENCY = 64;

interface Row {
  coupons: number;
  workers: number;
  tickets: number;
  seconds: number;
  perSecond: number;
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { tickets: { type: 'string', default: '20000' }, workers: { type: 'string', default: '1,2,4' }, coupons: { type: 'string', default: '1,3' } },
});
const tickets = Number(values.tickets);
const workerCounts = values.workers.split(',').map(Number);
const couponCounts = values.coupons.split(',').map(Number);

const log = (line: string) => process.stderr.write(`${line}\n`);

async function admitThroughApi(port: number, codes: string[], count: number): Promise<void> {
  let next = 0;
  const sendNext = async (): Promise<void> => {
    while (next < count) {
      const code = codes[next++ % codes.length]!;
      const response = await fetch(`http://127.0.0.1:${port}/v1/coupons/${code}/issue-requests`, { method: 'POST', headers: { 'x-user-id': randomUUID() } });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`admission answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: ADMIT_CONCURRENCY }, sendNext));
}

async function measure(coupons: number, workers: number): Promise<Row> {
  const environment: TestEnvironment = await createTestEnvironment();
  const connection = environment.redis.duplicate({ maxRetriesPerRequest: null });
  const queue = new Queue(ISSUE_QUEUE_NAME, { connection, prefix: queuePrefix(environment.config.REDIS_PREFIX) });
  try {
    const codes = Array.from({ length: coupons }, (_, i) => `DRAIN${i + 1}`);
    await environment.db
      .insertInto('coupon')
      .values(codes.map((code) => ({ id: randomUUID(), code, name: code, discount_amount: 0, total_quantity: tickets })))
      .execute();
    await queue.pause();
    const env = { ...process.env, ...environment.env, LOG_LEVEL: 'warn' };
    const onLine = (name: string, line: string) => log(`[${name}] ${line}`);

    const admission = await startCluster({ apis: 2, workers: 0, port: 0, env, onLine });
    try {
      await admitThroughApi(admission.port, codes, tickets);
    } finally {
      await admission.stop();
    }

    const drain = await startCluster({ apis: 0, workers, port: 0, env, onLine });
    try {
      const pendingKeys = codes.map((code) => couponKeys(environment.config.REDIS_PREFIX, code).pending);
      const pending = async () => (await Promise.all(pendingKeys.map((key) => environment.redis.zcard(key)))).reduce((a, b) => a + b, 0);
      if ((await pending()) !== tickets) throw new Error(`expected ${tickets} pending tickets, found ${await pending()}`);
      const startedAt = performance.now();
      await queue.resume();
      while ((await pending()) > 0) await delay(10);
      const seconds = (performance.now() - startedAt) / 1000;
      const issued = await environment.db.selectFrom('coupon').select((eb) => eb.fn.sum<string>('issued_quantity').as('issued')).where('code', 'in', codes).executeTakeFirstOrThrow();
      if (Number(issued.issued) !== tickets) throw new Error(`expected ${tickets} issued, found ${issued.issued}`);
      return { coupons, workers, tickets, seconds, perSecond: tickets / seconds };
    } finally {
      await drain.stop();
    }
  } finally {
    await queue.close();
    connection.disconnect();
    await environment.cleanup();
  }
}

const rows: Row[] = [];
for (const coupons of couponCounts) {
  for (const workers of workerCounts) {
    log(`${tickets} tickets over ${coupons} coupon(s), ${workers} worker process(es)...`);
    const row = await measure(coupons, workers);
    log(`  ${row.seconds.toFixed(2)} s, ${Math.round(row.perSecond)} decisions/s`);
    rows.push(row);
  }
}
process.stdout.write('| coupons | worker processes | tickets | drained in | decisions/s |\n|---|---|---|---|---|\n');
for (const row of rows) {
  process.stdout.write(`| ${row.coupons} | ${row.workers} | ${row.tickets.toLocaleString('en')} | ${row.seconds.toFixed(2)} s | ${Math.round(row.perSecond).toLocaleString('en')} |\n`);
}
process.exit(0);
