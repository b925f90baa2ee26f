// This system end to end on the seed's scenario, with the burst's own pieces: a local cluster,
// a warm-up on a coupon of its own (decided before the clock starts, so the measured burst
// meets warm processes and an empty queue, as the references do), then the burst itself, every
// ticket polled until final, and the burst's verifier on the Postgres truth.
import { setTimeout as delay } from 'node:timers/promises';
import { startLocalCluster, type LocalCluster } from '@coupons/harness/cluster';
import { now, planRequests, runLoad } from '@coupons/harness/load';
import { pollTickets, ticketsOf } from '@coupons/harness/poll';
import { couponFactsFromPostgres, verifyRun } from '@coupons/harness/verify';
import { formatCount } from '@coupons/harness/cli';
import { couponKeys } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { loadSettings, type BenchContext } from './bench-context.ts';
import type { ScenarioResult } from './figures.ts';
import { sendIssueRequests } from './http-load.ts';
import { insertBenchCoupon } from './queue-prefill.ts';

export const WARMUP_COUPON = 'BENCHWARMUP';
const SEED_COUPON = 'A0001';
const WATCH_MS = 5;

async function warmUp(ctx: BenchContext, cluster: LocalCluster): Promise<void> {
  const { warmupRequests } = ctx.options;
  if (warmupRequests === 0) return;
  for (const url of cluster.apiUrls) {
    await sendIssueRequests('warm-up', { url, couponCode: WARMUP_COUPON, identity: ctx.identity }, warmupRequests, loadSettings(ctx));
  }
  const { redis, config } = cluster.environment;
  const pending = couponKeys(config.REDIS_PREFIX, WARMUP_COUPON).pending;
  await waitFor(async () => (await redis.zcard(pending)) === 0, { timeoutMs: 120_000, message: 'the warm-up tickets to be decided' });
}

/**
 * When the last ticket of the line left the pending set, watched from Redis while the burst runs.
 * Resolves, once every request is answered and nothing is pending, with the time of the first
 * sample that found the set empty after the last sample that did not (a ticket leaves the
 * pending set in the same script that makes it final). Watching here rather than polling after
 * autocannon resolves matters: autocannon reports the end of a run only at its next one-second
 * tick, which would add up to a second to the figure.
 */
async function watchLineEnd(cluster: LocalCluster, allAnswered: () => boolean): Promise<number> {
  const { redis, config } = cluster.environment;
  const pending = couponKeys(config.REDIS_PREFIX, SEED_COUPON).pending;
  let emptySince = now();
  for (;;) {
    const answered = allAnswered();
    const empty = (await redis.zcard(pending)) === 0;
    if (!empty) emptySince = Number.NaN;
    else if (Number.isNaN(emptySince)) emptySince = now();
    if (empty && answered) return emptySince;
    await delay(WATCH_MS);
  }
}

export async function runSeedScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { apis, workers, seedUsers, connections, requestTimeoutSeconds } = ctx.options;
  let release: () => Promise<void> = async () => {};
  const cluster = await startLocalCluster({
    apis,
    workers,
    log: ctx.log,
    onTeardown: (teardown) => (release = ctx.teardown.add(teardown)),
    beforeStart: (env) => insertBenchCoupon(env.db, WARMUP_COUPON, 10_000_000),
    apiEnv: ctx.identity?.serverEnv,
  });
  try {
    await warmUp(ctx, cluster);
    const urls = cluster.apiUrls;
    const plan = planRequests([{ code: SEED_COUPON, users: seedUsers }], seedUsers);
    ctx.log(`seed scenario: ${formatCount(seedUsers)} users on ${SEED_COUPON} over ${connections} connections`);
    await ctx.identity?.prepare(plan.map((request) => request.userId));
    const load = runLoad(plan, { urls, connections: Math.min(connections, seedUsers), timeoutSeconds: requestTimeoutSeconds, identity: ctx.identity });
    const stopLoad = ctx.teardown.add(load.stop);
    ctx.progress.phase(() => `seed scenario: ${formatCount(load.progress().answered)} / ${formatCount(seedUsers)} answered`);
    const lineEnd = watchLineEnd(cluster, () => load.progress().answered === plan.length);
    const requests = await load.done;
    await stopLoad();
    // A request that timed out never counts as answered: stop watching for it.
    const emptyAt = requests.some((r) => r.answeredAt === null) ? Number.NaN : await lineEnd;

    const pending = ticketsOf(requests);
    let final = 0;
    ctx.progress.phase(() => `seed scenario: ${formatCount(final)} / ${formatCount(pending.length)} tickets final (polled as a client would)`);
    const { tickets, decidedAt } = await pollTickets(pending, { urls, deadlineMs: 120_000, concurrency: 64, connections, identity: ctx.identity }, (count) => (final = count));
    ctx.progress.stop();

    const [facts] = await couponFactsFromPostgres(cluster.environment.db, [SEED_COUPON]);
    const startedAt = requests.reduce((first, r) => Math.min(first, r.sentAt), Infinity);
    const verdict = verifyRun({ fresh: true, startedAt, requests, tickets, decidedAt, coupons: [facts!] });
    const allFinal = verdict.unfinishedTickets === 0 && !Number.isNaN(emptyAt);
    return {
      requests: verdict.requests,
      burstMs: verdict.burstMs,
      // A request answered SOLD_OUT is decided when answered; one with a ticket when the ticket is final.
      decidedMs: allFinal ? Math.max(verdict.burstMs, emptyAt - startedAt) : null,
      seenFinalMs: verdict.decidedAfterMs ?? verdict.allFinalAfterMs,
      latency: verdict.latency,
      unanswered: verdict.unanswered,
      serverErrors: verdict.serverErrors,
      statusCounts: verdict.statusCounts,
      issued: facts!.issued,
      limit: facts!.limit,
      soldOutAfterMs: verdict.coupons[0]?.soldOutAfterMs ?? null,
      failures: verdict.failures,
    };
  } finally {
    ctx.progress.stop();
    await release();
  }
}
