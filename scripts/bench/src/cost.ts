// What a ticket costs, in CPU, process by process (issue 12). On a private redis-server (so every
// Redis microsecond is ours), a local cluster of 2 API and 2 worker processes, three measured
// stages, each from a CPU snapshot to the next:
//   1. admitted: `admissions` distinct users on a coupon with room for all, until every ticket is
//      final (admission, enqueue, drain, resolve: the whole life of an admitted ticket);
//   2. sold out: as many requests again on a sold-out coupon (the fast path's answer);
//   3. polls: one GET per ticket of stage 1 (final tickets, as a client polls them).
// And a bare express echo answering as many requests, for the API's CPU per request beside it.
// CPU accounting is far steadier than throughput on a shared machine: changes are judged by it.
import { startLocalCluster } from '@coupons/harness/cluster';
import { call, type RecordedRequest } from '@coupons/harness/load';
import { cpuPerRole, processCpuSeconds, startCpuMeter, type CpuReport, type CpuSources } from '@coupons/harness/measure';
import { startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import { startBenchChild } from './bench-child.ts';
import { loadSettings, type BenchContext } from './bench-context.ts';
import { sendIssueRequests, type LoadSettings } from './http-load.ts';

const OPEN_COUPON = 'COSTOPEN';
const SOLD_COUPON = 'COSTSOLD';

export interface CostStage {
  /** Units of work: admitted tickets, SOLD_OUT answers, polls. */
  units: number;
  cpu: CpuReport;
  /** µs of CPU per unit, by process (api, worker, redis, postgres, load generator). */
  perUnitUs: Record<string, number>;
}

export interface CostMeasurements {
  admissions: number;
  admitted: CostStage;
  soldOut: CostStage;
  polls: CostStage;
  /** The bare echo's CPU per request (µs). */
  echoPerRequestUs: number;
  /** Redis memory (used_memory) per admitted ticket at the end of stage 1, bytes. */
  redisBytesPerTicket: number;
}

function stage(cpu: CpuReport, units: number): CostStage {
  return { units, cpu, perUnitUs: cpuPerRole(cpu, units) };
}

/** GET every ticket once, 32 at a time, as its owner. */
async function pollOnce(url: string, requests: readonly RecordedRequest[]): Promise<number> {
  const tickets = requests.filter((r) => r.status === 202 && r.ticketId);
  for (let start = 0; start < tickets.length; start += 32) {
    await Promise.all(tickets.slice(start, start + 32).map((r) => call(url, 'ticket', `/v1/tickets/${r.ticketId}`, { userId: r.userId, couponCode: r.couponCode }, 10_000)));
  }
  return tickets.length;
}

export interface AdmittedStage {
  stage: CostStage;
  records: readonly RecordedRequest[];
  /** Redis memory (used_memory) grown per admitted ticket, once every ticket was final. */
  redisBytesPerTicket: number;
}

/**
 * Stage 1 of the cost (and each size of the linearity check): `admissions` distinct users on a
 * coupon with room for all, measured from a CPU snapshot until `drained` says every ticket is final.
 */
export async function measureAdmitted(input: {
  url: string;
  couponCode: string;
  admissions: number;
  sources: CpuSources;
  redis: { info(section: string): Promise<Record<string, string>> };
  settings: LoadSettings;
  drained: () => Promise<unknown>;
}): Promise<AdmittedStage> {
  const { url, couponCode, admissions, sources, redis, settings, drained } = input;
  const memoryBefore = Number((await redis.info('memory')).used_memory);
  const meter = await startCpuMeter(sources);
  let records: readonly RecordedRequest[] = [];
  const load = await sendIssueRequests(`cost admitted (${couponCode})`, { url, couponCode, onRecords: (recorded) => (records = recorded) }, admissions, settings);
  await drained();
  const cpu = await meter.stop();
  const admitted = load.statusCounts['202'] ?? 0;
  const memoryAfter = Number((await redis.info('memory')).used_memory);
  return { stage: stage(cpu, admitted), records, redisBytesPerTicket: admitted > 0 ? (memoryAfter - memoryBefore) / admitted : 0 };
}

/** What a cost measurement runs on: a private redis-server (AOF off) and 2 API + 2 worker processes. */
export interface CostCluster {
  url: string;
  sources: CpuSources;
  redis: RedisServer;
  settings: LoadSettings;
  /** Resolves once the coupon has no pending ticket (every admitted ticket is final). */
  drained(code: string): Promise<unknown>;
}

/** Runs `measure` on a fresh cost cluster with these coupons, and removes all of it afterwards. */
export async function withCostCluster<T>(ctx: BenchContext, coupons: { code: string; limit: number }[], measure: (cluster: CostCluster) => Promise<T>): Promise<T> {
  const redis = await startRedisServer({ extraArgs: ['--appendonly', 'no', '--save', ''] });
  const stopRedis = ctx.teardown.add(() => redis.close());
  let release: () => Promise<void> = async () => {};
  try {
    const cluster = await startLocalCluster({
      apis: 2,
      workers: 2,
      overrides: { REDIS_URL: redis.url },
      coupons,
      log: ctx.log,
      onTeardown: (teardown) => (release = ctx.teardown.add(teardown)),
    });
    const { environment } = cluster;
    const processes = Object.fromEntries(cluster.services.map(({ name, process }) => [name, process.child.pid!]));
    return await measure({
      url: cluster.apiUrls[0]!,
      sources: { processes, redis: environment.redis, db: environment.db },
      redis,
      settings: loadSettings(ctx),
      drained: (code) =>
        waitFor(async () => (await environment.redis.zcard(cluster.keys(code).pending)) === 0, { timeoutMs: 600_000, intervalMs: 100, message: `${code} drained` }),
    });
  } finally {
    await release();
    await stopRedis();
  }
}

export async function costPhase(ctx: BenchContext): Promise<CostMeasurements> {
  const admissions = ctx.options.costAdmissions;
  const coupons = [
    { code: OPEN_COUPON, limit: admissions },
    { code: SOLD_COUPON, limit: 1 },
  ];
  return withCostCluster(ctx, coupons, async ({ url, sources, redis, settings, drained }) => {
    // Warm-up and the sold-out coupon: its one coupon taken, so everything after is SOLD_OUT.
    await sendIssueRequests('cost warm-up', { url, couponCode: SOLD_COUPON }, 200, settings);
    await drained(SOLD_COUPON);
    ctx.log(`cost: ${admissions} admissions on a private Redis, 2 API + 2 worker processes, until every ticket is final`);
    const admittedStage = await measureAdmitted({ url, couponCode: OPEN_COUPON, admissions, sources, redis, settings, drained: () => drained(OPEN_COUPON) });
    const admittedRecords = admittedStage.records;

    let meter = await startCpuMeter(sources);
    const soldLoad = await sendIssueRequests('cost sold out', { url, couponCode: SOLD_COUPON }, admissions, settings);
    const soldCpu = await meter.stop();

    meter = await startCpuMeter(sources);
    const polls = await pollOnce(url, admittedRecords);
    const pollCpu = await meter.stop();

    // The bare echo, as many requests: its process's CPU per request.
    const echo = await startBenchChild('echo-server', { LOG_LEVEL: 'warn' }, ctx.teardown);
    const echoUrl = `http://127.0.0.1:${echo.port}`;
    let echoPerRequestUs = Number.NaN;
    try {
      let before = 0;
      const echoed = await sendIssueRequests('cost echo', { url: echoUrl, couponCode: OPEN_COUPON, onStart: () => (before = processCpuSeconds(echo.pid)) }, admissions, settings);
      echoPerRequestUs = ((processCpuSeconds(echo.pid) - before) * 1e6) / Math.max(1, echoed.answered);
    } finally {
      await echo.stop();
    }
    return {
      admissions,
      admitted: admittedStage.stage,
      soldOut: stage(soldCpu, soldLoad.statusCounts['409 SOLD_OUT'] ?? 0),
      polls: stage(pollCpu, polls),
      echoPerRequestUs,
      redisBytesPerTicket: admittedStage.redisBytesPerTicket,
    };
  });
}
