// Draining a pre-filled queue: this system's workers deciding admitted tickets, and a raw
// BullMQ worker with a no-op processor. Both go the same way: a warm-up set is queued before
// the worker processes start and is drained (so measured runs meet warm processes, as the HTTP
// references do); then, per measured run, the queue is paused, the run's set is queued, and the
// clock runs from the queue's resume until the last ticket is decided / the last job is gone.
// Process start-up, connections and the start-up fast-path rebuild are not counted, for either.
import { setTimeout as delay } from 'node:timers/promises';
import { startLocalCluster } from '@coupons/harness/cluster';
import { now } from '@coupons/harness/load';
import { formatCount } from '@coupons/harness/cli';
import { couponKeys } from '@coupons/shared/redis';
import type { TestEnvironment } from '@coupons/shared/testing';
import { createBenchEnvironment, type BenchContext } from './bench-context.ts';
import { startBenchChild, type BenchChild } from './bench-child.ts';
import type { DrainResult } from './figures.ts';
import { insertBenchCoupon, openPausedQueue, prefillAdmittedTickets, prefillJobs, type BenchQueue } from './queue-prefill.ts';

const POLL_MS = 5;
const DEADLINE_MS = 10 * 60_000;
const WARMUP_COUPON = 'BENCHDRAINWARMUP';
const HUGE_LIMIT = 10_000_000;

/** Worker processes with a paused, pre-fillable queue. */
export interface Drainer {
  /** Queues `items` (tickets of a new coupon with `limit` coupons, or jobs), resumes, times the drain. */
  measure(items: number, limit?: number): Promise<DrainResult>;
  stop(): Promise<void>;
}

/** Polls `remaining()` until it is 0; resolves with the ms since `startedAt`. */
async function untilNoneRemain(ctx: BenchContext, label: string, total: number, startedAt: number, remaining: () => Promise<number>): Promise<number> {
  let left = total;
  let lastDone = 0;
  ctx.progress.phase(() => {
    const done = total - left;
    const rate = done - lastDone;
    lastDone = done;
    return `${label}: ${formatCount(done)} / ${formatCount(total)} (${formatCount(rate)}/s)`;
  });
  try {
    for (;;) {
      left = await remaining();
      if (left === 0) return now() - startedAt;
      if (now() - startedAt > DEADLINE_MS) throw new Error(`${label}: ${left} of ${total} still there after ${DEADLINE_MS / 1000} s`);
      await delay(POLL_MS);
    }
  } finally {
    ctx.progress.stop();
  }
}

const jobsLeft = ({ queue }: BenchQueue) => () => queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized');

/**
 * Resumes the queue and times it: until `undecided()` is 0 (when given: tickets), and until
 * every job is gone; then pauses it again.
 */
async function timeDrain(ctx: BenchContext, queue: BenchQueue, label: string, items: number, undecided?: () => Promise<number>) {
  const startedAt = now();
  await queue.queue.resume();
  const decidedMs = undecided ? await untilNoneRemain(ctx, `${label}: tickets decided`, items, startedAt, undecided) : undefined;
  const jobsDrainedMs = await untilNoneRemain(ctx, `${label}: jobs completed`, items, startedAt, jobsLeft(queue));
  await queue.queue.pause();
  return { durationMs: decidedMs ?? jobsDrainedMs, jobsDrainedMs };
}

const workersLabel = (workers: number) => `${workers} worker${workers === 1 ? '' : 's'}`;

/** `workers` worker processes of this system, warmed up. Each measured run decides the tickets of a new coupon. */
export async function startOurDrainer(ctx: BenchContext, workers: number): Promise<Drainer> {
  const warmup = ctx.options.warmupRequests;
  let queue: BenchQueue | undefined;
  let environment: TestEnvironment | undefined;
  let release: () => Promise<void> = async () => {};
  ctx.log(`${workersLabel(workers)} of this system, warmed up with ${formatCount(warmup)} queued tickets`);
  const stop = async () => {
    await queue?.close();
    await release();
  };
  try {
    await startLocalCluster({
      apis: 0,
      workers,
      log: ctx.log,
      onTeardown: (teardown) => (release = ctx.teardown.add(teardown)),
      beforeStart: async (env) => {
        environment = env;
        await insertBenchCoupon(env.db, WARMUP_COUPON, HUGE_LIMIT);
        queue = await openPausedQueue(env);
        await prefillAdmittedTickets(env, queue.queue, WARMUP_COUPON, warmup);
      },
    });
    await timeDrain(ctx, queue!, 'warm-up', warmup);
  } catch (error) {
    await stop();
    throw error;
  }
  const { redis, db, config } = environment!;
  let round = 0;
  return {
    async measure(items, limit = HUGE_LIMIT) {
      const code = `BENCHDRAIN${++round}`;
      // A coupon created after the workers started: its fast-path state is built before its first batch.
      await insertBenchCoupon(db, code, limit);
      await prefillAdmittedTickets(environment!, queue!.queue, code, items);
      const pending = couponKeys(config.REDIS_PREFIX, code).pending;
      const { durationMs, jobsDrainedMs } = await timeDrain(ctx, queue!, workersLabel(workers), items, () => redis.zcard(pending));
      const { issued } = await db.selectFrom('coupon').select('issued_quantity as issued').where('code', '=', code).executeTakeFirstOrThrow();
      return { workers, items, durationMs, perSecond: (items * 1000) / durationMs, issued, jobsDrainedMs };
    },
    stop,
  };
}

/** One raw BullMQ worker process (no-op processor, same concurrency), warmed up. */
export async function startRawDrainer(ctx: BenchContext): Promise<Drainer> {
  const warmup = ctx.options.warmupRequests;
  const { environment, cleanup } = await createBenchEnvironment(ctx);
  let queue: BenchQueue | undefined;
  let worker: BenchChild | undefined;
  const stop = async () => {
    await worker?.stop();
    await queue?.close();
    await cleanup();
  };
  try {
    ctx.log(`raw BullMQ worker, warmed up with ${formatCount(warmup)} queued jobs`);
    queue = await openPausedQueue(environment);
    await prefillJobs(queue.queue, WARMUP_COUPON, warmup);
    worker = await startBenchChild('raw-bullmq-worker', environment.env, ctx.teardown);
    await timeDrain(ctx, queue, 'warm-up', warmup);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    async measure(items) {
      await prefillJobs(queue!.queue, 'BENCHDRAIN', items);
      const { durationMs } = await timeDrain(ctx, queue!, 'raw BullMQ', items);
      return { workers: 1, items, durationMs, perSecond: (items * 1000) / durationMs };
    },
    stop,
  };
}
