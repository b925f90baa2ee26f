// The bench from start to figures. Each phase starts what it compares, warms it up, measures the
// two sides in turns (--repeat times, keeping the best run of each), and takes it all down
// before the next phase, so phases never compete for the two cores.
import { loadavg } from 'node:os';
import { startLocalCluster } from '@coupons/harness/cluster';
import { loadConfig } from '@coupons/shared/config';
import { createBenchEnvironment, loadSettings, type BenchContext } from './bench-context.ts';
import { startBenchChild } from './bench-child.ts';
import { startOurDrainer, startRawDrainer, type Drainer } from './drain.ts';
import { durabilityPhase } from './durability.ts';
import { computeFigures, type BenchMeasurements, type DrainResult } from './figures.ts';
import { sendIssueRequests, type LoadSummary } from './http-load.ts';
import { measureCpuPerAdmitted, type AcceptApi, type AuthCost } from './auth-cost.ts';
import { costPhase } from './cost.ts';
import { costLinearityPhase } from './cost-linearity.ts';
import { ssePhase } from './sse.ts';
import { createClientIdentity, trustedHeaderIdentity, type ClientIdentity } from '@coupons/harness/identity';
import { machineInfo } from './machine.ts';
import { openUntouchedCoupon } from '@coupons/shared/testing';
import { insertBenchCoupon } from './queue-prefill.ts';
import { alternate, bestOf } from './repeats.ts';
import type { BenchReport } from './report.ts';
import { runSeedScenario, WARMUP_COUPON } from './seed-scenario.ts';
import { ensureLocalServers } from '@coupons/local-servers';

/** A limit no bench run reaches: every admission and every decision is a new coupon. */
const HUGE_LIMIT = 10_000_000;
const ACCEPT_COUPON = 'BENCHACCEPT';

/**
 * The seed design decides only ~100-500 requests/s: its warm-up is capped (a few hundred requests
 * compile its hot path) so that it does not take longer than the measurement.
 */
const baselineWarmup = ({ warmupRequests, seedUsers }: BenchContext['options']) => Math.min(warmupRequests, Math.ceil(seedUsers / 5), 300);

const bestRps = (runs: LoadSummary[]) => bestOf(runs, (run) => run.rps);
const bestDrain = (runs: DrainResult[]) => bestOf(runs, (run) => run.perSecond);

/** `repeat` drains of `items` queued tickets (of a coupon with `limit`), the best kept. */
async function drainRepeatedly(ctx: BenchContext, drainer: Drainer, items: number, limit?: number): Promise<DrainResult> {
  const runs: DrainResult[] = [];
  for (let round = 0; round < ctx.options.repeat; round++) runs.push(await drainer.measure(items, limit));
  return bestDrain(runs);
}

/** Starts `start`, and stops what it returned whatever `use` does. */
async function using<T extends { stop(): Promise<void> }, R>(start: Promise<T>, use: (resource: T) => Promise<R>): Promise<R> {
  const resource = await start;
  try {
    return await use(resource);
  } finally {
    await resource.stop();
  }
}

/** The bare express echo, as an HTTP target. */
async function startEcho(ctx: BenchContext) {
  const echo = await startBenchChild('echo-server', { LOG_LEVEL: 'warn' }, ctx.teardown);
  return { url: `http://127.0.0.1:${echo.port}`, stop: echo.stop };
}

/**
 * One API process and no worker on a fresh environment with a coupon no run exhausts. No worker
 * runs to open the coupon's fast path (a worker's heal does that on start), so it is opened here:
 * without it every admission would wait for a heal and answer 503.
 */
async function startAcceptApi(ctx: BenchContext, identity: ClientIdentity = trustedHeaderIdentity): Promise<AcceptApi & { stop(): Promise<void> }> {
  let release: () => Promise<void> = async () => {};
  const cluster = await startLocalCluster({
    apis: 1,
    workers: 0,
    apiEnv: identity.serverEnv,
    log: ctx.log,
    onTeardown: (teardown) => (release = ctx.teardown.add(teardown)),
    beforeStart: async (env) => {
      await insertBenchCoupon(env.db, ACCEPT_COUPON, HUGE_LIMIT);
      await openUntouchedCoupon(env.redis, env.config.REDIS_PREFIX, ACCEPT_COUPON, HUGE_LIMIT);
    },
  });
  return { url: cluster.apiUrls[0]!, pid: cluster.services.find((service) => service.kind === 'api')!.process.child.pid!, stop: () => release() };
}

const warmUp = (ctx: BenchContext, label: string, url: string, couponCode: string, count: number, identity?: ClientIdentity) =>
  count > 0 ? sendIssueRequests(`${label} (warm-up)`, { url, couponCode, identity }, count, loadSettings(ctx)) : Promise.resolve();

/** P1: the bare express echo and one API process (no worker) admitting and enqueueing, in turns. */
async function acceptPhase(ctx: BenchContext): Promise<NonNullable<BenchMeasurements['accept']>> {
  const { acceptRequests: count, warmupRequests: warmup, repeat } = ctx.options;
  // No worker runs: every admitted ticket stays pending, and past the backlog bound the API says OVERLOADED.
  const backlog = warmup + repeat * count;
  const { ADMISSION_MAX_BACKLOG } = loadConfig(process.env);
  if (backlog > ADMISSION_MAX_BACKLOG) {
    throw new Error(`P1 queues ${backlog} tickets with no worker, over ADMISSION_MAX_BACKLOG (${ADMISSION_MAX_BACKLOG}): raise it (ADMISSION_MAX_BACKLOG=${backlog} pnpm bench) or send fewer`);
  }
  ctx.log('P1: bare express 5 echo and this API (one process, no worker)');
  return using(startEcho(ctx), (echo) =>
    using(startAcceptApi(ctx, ctx.identity), async (api) => {
      await warmUp(ctx, 'P1 bare express echo', echo.url, ACCEPT_COUPON, warmup);
      await warmUp(ctx, 'P1 this API', api.url, ACCEPT_COUPON, warmup, ctx.identity);
      const [ceilings, apis] = await alternate(
        repeat,
        () => sendIssueRequests('P1 bare express echo', { url: echo.url, couponCode: ACCEPT_COUPON }, count, loadSettings(ctx)),
        () => sendIssueRequests('P1 this API', { url: api.url, couponCode: ACCEPT_COUPON, identity: ctx.identity }, count, loadSettings(ctx)),
      );
      return { ceiling: bestRps(ceilings), api: bestRps(apis) };
    }),
  );
}

/**
 * The cost of JWT verification: one API in trusted-header mode and one in jwt mode (a key pair
 * made for the run, RS256), each warmed up, then the same accept load on each in turns; the API
 * process's CPU per admitted request, the lowest of each side kept (auth-cost.ts).
 */
async function authPhase(ctx: BenchContext): Promise<AuthCost> {
  const { warmupRequests: warmup, repeat } = ctx.options;
  const jwt = await createClientIdentity('jwt');
  ctx.log('auth: API CPU per admitted request, AUTH_MODE=trusted-header and AUTH_MODE=jwt (one API process each, no worker)');
  return using(startAcceptApi(ctx), (plain) =>
    using(startAcceptApi(ctx, jwt), async (verifying) => {
      await warmUp(ctx, 'auth trusted-header', plain.url, ACCEPT_COUPON, warmup);
      await warmUp(ctx, 'auth jwt', verifying.url, ACCEPT_COUPON, warmup, jwt);
      const [plains, jwts] = await alternate(
        repeat,
        () => measureCpuPerAdmitted(ctx, 'auth trusted-header', plain, ACCEPT_COUPON, trustedHeaderIdentity),
        () => measureCpuPerAdmitted(ctx, 'auth jwt', verifying, ACCEPT_COUPON, jwt),
      );
      const leastCpu = <T extends { cpuPerAdmittedUs: number }>(runs: T[]) => bestOf(runs, (run) => run.cpuPerAdmittedUs, true);
      return { trusted: leastCpu(plains), jwt: leastCpu(jwts) };
    }),
  );
}

/**
 * P2: a raw BullMQ no-op worker and this worker, each draining the same number of queued items,
 * in turns. When the seed phase runs too, this worker also takes P3's decisions here (users =
 * limit, a coupon of its own), which saves starting another worker.
 */
async function drainPhase(ctx: BenchContext): Promise<NonNullable<BenchMeasurements['drain']> & { seedDecisions?: DrainResult }> {
  const { drainJobs: items, seedUsers, repeat, phases } = ctx.options;
  ctx.log('P2: raw BullMQ worker (no-op processor) and this worker');
  return using(startRawDrainer(ctx), (raw) =>
    using(startOurDrainer(ctx, 1), async (ours) => {
      const [raws, oursRuns] = await alternate(repeat, () => raw.measure(items), () => ours.measure(items));
      if (!phases.includes('seed')) return { raw: bestDrain(raws), ours: bestDrain(oursRuns) };
      ctx.log('P3: this worker on as many queued users as the seed design gets, for as many coupons');
      return { raw: bestDrain(raws), ours: bestDrain(oursRuns), seedDecisions: await drainRepeatedly(ctx, ours, seedUsers, seedUsers) };
    }),
  );
}

/** The seed design (P3's baseline) on its own fresh database: users = limit, then the seed scenario. Measured once: it is slow. */
async function measureSeedDesign(ctx: BenchContext): Promise<{ decisions: LoadSummary; scenario: LoadSummary }> {
  const { seedUsers: users, baselineRetryMs } = ctx.options;
  ctx.log('P3: the seed design (spin lock, count, insert per request)');
  const { environment, cleanup } = await createBenchEnvironment(ctx);
  try {
    await insertBenchCoupon(environment.db, 'BENCHSEED', users);
    await insertBenchCoupon(environment.db, WARMUP_COUPON, HUGE_LIMIT);
    const env = { ...environment.env, BASELINE_LOCK_RETRY_MS: String(baselineRetryMs) };
    return await using(startBenchChild('seed-baseline-server', env, ctx.teardown), async (baseline) => {
      const url = `http://127.0.0.1:${baseline.port}`;
      await warmUp(ctx, 'P3 seed design', url, WARMUP_COUPON, baselineWarmup(ctx.options));
      const decisions = await sendIssueRequests('P3 seed design: users = limit', { url, couponCode: 'BENCHSEED' }, users, loadSettings(ctx));
      const scenario = await sendIssueRequests('P3 seed design: seed scenario', { url, couponCode: 'A0001' }, users, loadSettings(ctx));
      return { decisions, scenario };
    });
  } finally {
    await cleanup();
  }
}

/** P3 and P4: the seed design, this system on the same work, and the echo answering as many requests. */
async function seedPhase(ctx: BenchContext, measuredDecisions: DrainResult | undefined): Promise<NonNullable<BenchMeasurements['seed']>> {
  const { seedUsers: users, warmupRequests: warmup, repeat } = ctx.options;
  const baseline = await measureSeedDesign(ctx);

  let oursDecisions = measuredDecisions;
  if (!oursDecisions) {
    ctx.log('P3: this worker on the same users, queued');
    oursDecisions = await using(startOurDrainer(ctx, 1), (ours) => drainRepeatedly(ctx, ours, users, users));
  }

  ctx.log(`P3/P4: this system end to end on the seed scenario, and the bare express echo answering ${users} requests`);
  const [echoes, scenarios] = await using(startEcho(ctx), async (echo) => {
    await warmUp(ctx, 'P4 bare express echo', echo.url, WARMUP_COUPON, warmup);
    return alternate(
      repeat,
      () => sendIssueRequests('P4 bare express echo', { url: echo.url, couponCode: 'A0001' }, users, loadSettings(ctx)),
      // A fresh cluster each time: the scenario sells A0001 out.
      () => runSeedScenario(ctx),
    );
  });
  return {
    echo: bestRps(echoes),
    baselineDecisions: baseline.decisions,
    oursDecisions,
    baselineScenario: baseline.scenario,
    oursScenario: bestOf(scenarios, (run) => run.decidedMs ?? Number.NaN, true),
  };
}

/** Decisions/s with 1, 2, 4 … worker processes; the 1-worker row is P2's when P2 ran. */
async function scalingPhase(ctx: BenchContext, oneWorker: DrainResult | undefined): Promise<NonNullable<BenchMeasurements['scaling']>> {
  const { scalingWorkers, drainJobs: items } = ctx.options;
  const results = [];
  for (const workers of scalingWorkers) {
    if (workers === 1 && oneWorker) {
      results.push(oneWorker);
      continue;
    }
    ctx.log(`scaling: ${workers} worker process${workers === 1 ? '' : 'es'}`);
    results.push(await using(startOurDrainer(ctx, workers), (ours) => drainRepeatedly(ctx, ours, items)));
  }
  return results;
}

export async function runBench(ctx: BenchContext): Promise<BenchReport> {
  const started = Date.now();
  // No Redis or Postgres running and none configured: embedded ones, stopped at the end.
  const servers = await ensureLocalServers({ purpose: 'test', log: ctx.log });
  ctx.teardown.add(() => servers.stop());
  const loadAtStart = loadavg()[0]!;
  const config = loadConfig(process.env);
  const machine = await machineInfo();
  const measurements: BenchMeasurements = {};
  const { phases } = ctx.options;
  // --auth: P1's API and the seed scenario run in that AUTH_MODE, their requests identified accordingly.
  if (ctx.options.auth !== 'trusted-header') ctx.identity = await createClientIdentity(ctx.options.auth);
  if (phases.includes('accept')) measurements.accept = await acceptPhase(ctx);
  if (phases.includes('auth')) measurements.auth = await authPhase(ctx);
  if (phases.includes('cost')) measurements.cost = await costPhase(ctx);
  if (phases.includes('linearity')) measurements.linearity = await costLinearityPhase(ctx);
  let seedDecisions: DrainResult | undefined;
  if (phases.includes('drain')) {
    const { seedDecisions: decisions, ...drain } = await drainPhase(ctx);
    measurements.drain = drain;
    seedDecisions = decisions;
  }
  if (phases.includes('seed')) measurements.seed = await seedPhase(ctx, seedDecisions);
  if (phases.includes('scaling')) measurements.scaling = await scalingPhase(ctx, measurements.drain?.ours);
  // Last, and on private redis-servers: it needs neither Postgres nor the shared Redis.
  if (phases.includes('durability')) measurements.durability = await durabilityPhase(ctx);
  if (phases.includes('sse')) measurements.sse = await ssePhase(ctx);
  return {
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    options: ctx.options,
    settings: { workerConcurrency: config.WORKER_CONCURRENCY, batchSize: config.BATCH_SIZE },
    machine,
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    measurements,
    figures: computeFigures(measurements),
  };
}
