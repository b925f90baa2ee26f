// One burst from start to verdict: target (own cluster or --url), load, poll, truth, verify.
import { createDb } from '@coupons/shared/db';
import { startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import type { BurstOptions } from './cli-args.ts';
import { serviceWarnings, startLocalCluster, type LocalCluster } from '@coupons/harness/cluster';
import type { RedisClient } from '@coupons/shared/redis';
import { startCpuMeter } from '@coupons/harness/measure';
import { planRequests, runLoad } from '@coupons/harness/load';
import { createClientIdentity } from '@coupons/harness/identity';
import { pollTickets, ticketsOf, type PollResult } from '@coupons/harness/poll';
import { TicketFollower, type FollowFigures } from '@coupons/harness/sse';
import { couponFactsFromApi, couponFactsFromPostgres, verifyRun, walletIdsFromPostgres, walletRateFromPostgres, type CouponFacts, type WalletRate } from '@coupons/harness/verify';
import { formatCount, type CliContext } from '@coupons/harness/cli';
import { groupWarnings, machineInfo, type BurstCpu, type BurstReport } from './report.ts';
import { sampleGeneratorMemory } from './generator-memory.ts';
import { ensureLocalServers } from '@coupons/local-servers';
import { cpuPerRole, type CpuReport } from '@coupons/harness/measure';
import type { RecordedRequest } from '@coupons/harness/load';
import {
  afterCouponStateExpired,
  afterTicketsExpired,
  censusOf,
  memoryFigures,
  sampleMemory,
  TARGET_BYTES_PER_TICKET,
  usedMemory,
  type CensusRow,
  type MemoryReport,
} from './memory.ts';

/** The teardown: what Ctrl-C must undo (stop the load, tear the cluster down). */
export type BurstHooks = CliContext;

/** A failure before any load was sent: the target is not there or not what the flags say. */
export class TargetError extends Error {
  override name = 'TargetError';
}

async function checkTarget(urls: string[], codes: string[]): Promise<void> {
  for (const url of urls) {
    await waitFor(() => fetch(`${url}/readyz`).then((res) => res.ok, () => false), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: `${url}/readyz to answer 200`,
    }).catch(() => {
      throw new TargetError(`${url} is not ready (GET /readyz did not answer 200 within 30 s)`);
    });
  }
  const known = (await couponFactsFromApi(urls[0]!, codes)).map((c) => c.code);
  const missing = codes.filter((code) => !known.includes(code));
  if (missing.length > 0) throw new TargetError(`no coupon ${missing.join(', ')} at ${urls[0]} (GET /v1/coupons)`);
}

async function readFacts(options: BurstOptions, cluster: LocalCluster<RedisClient> | null, urls: string[], codes: string[]): Promise<CouponFacts[]> {
  if (cluster) return couponFactsFromPostgres(cluster.environment.db, codes);
  if (!options.databaseUrl) return couponFactsFromApi(urls[0]!, codes);
  const db = createDb(options.databaseUrl, { maxConnections: 1, applicationName: 'coupons-burst' });
  try {
    return await couponFactsFromPostgres(db, codes);
  } finally {
    await db.destroy();
  }
}

export async function runBurst(options: BurstOptions, hooks: BurstHooks): Promise<BurstReport> {
  const { log, progress } = hooks;
  const codes = options.demand.map((d) => d.code);
  let cluster: LocalCluster<RedisClient> | null = null;
  let privateRedis: RedisServer | null = null;
  // --auth: the cluster runs in that mode, and every request proves its user the way the mode asks.
  const identity = await createClientIdentity(options.auth);
  if (options.urls.length === 0) {
    // No Redis or Postgres running and none configured: embedded ones, stopped at the end.
    const servers = await ensureLocalServers({ purpose: 'test', log });
    hooks.teardown.add(() => servers.stop());
    const overrides: Record<string, string> = {};
    if (options.privateRedis) {
      // AOF off, no snapshots: nothing but the event's own keys, and no AOF buffers in used_memory.
      privateRedis = await startRedisServer({ extraArgs: ['--appendonly', 'no', '--save', ''] });
      hooks.teardown.add(() => privateRedis?.close());
      overrides.REDIS_URL = privateRedis.url;
      log(`private redis-server on ${privateRedis.url} (pid ${privateRedis.pid})`);
    }
    if (options.retentionSeconds !== null) overrides.EVENT_RETENTION_SECONDS = String(options.retentionSeconds);
    if (options.ticketTtlSeconds !== null) overrides.TICKET_TTL_SECONDS = String(options.ticketTtlSeconds);
    // --sse: every stream is a connection; each API must accept all of them with the load's own.
    if (options.sse) overrides.HTTP_MAX_CONNECTIONS = String(options.sseStreams + options.connections + 100);
    log(`starting a local cluster: ${options.apis} API + ${options.workers} worker processes (AUTH_MODE=${identity.mode})${options.redisCluster ? ' on a local Redis Cluster (3 primaries + 3 replicas)' : ''}`);
    try {
      cluster = await startLocalCluster({
        apis: options.apis,
        workers: options.workers,
        overrides,
        apiEnv: identity.serverEnv,
        ...(options.ownCoupons && { coupons: options.ownCoupons }),
        // --redis-cluster: six private nodes of its own, every process on REDIS_CLUSTER_NODES.
        redisCluster: options.redisCluster,
        log,
        onTeardown: (undo) => void hooks.teardown.add(undo),
      });
    } catch (error) {
      await privateRedis?.close();
      throw error;
    }
  }
  try {
    const urls = cluster ? cluster.apiUrls : options.urls;
    await checkTarget(urls, codes);

    // Redis memory: before the event, through it (the peak), right after the last admission.
    const redis = cluster?.environment.redis;
    const baseline = redis ? await usedMemory(redis) : null;
    const sampler = redis ? sampleMemory(redis) : null;
    let atLastAdmission = 0;
    let censusAtLastAdmission: CensusRow[] = [];

    // The plan first, so the CPU figures below are the run's and not the making of a million user ids.
    const plan = planRequests(options.demand, options.requests);
    await identity.prepare(plan.map((request) => request.userId));
    const generatorMemory = sampleGeneratorMemory();

    // CPU of every process of the run, from the first request to the last poll (issue 12's figures).
    const cpuMeter = cluster
      ? await startCpuMeter({
          processes: {
            ...Object.fromEntries(cluster.services.map(({ name, process }) => [name, process.child.pid!])),
            // A Redis Cluster's CPU is every node's (primaries and the replicas applying their stream), from /proc: role "redis".
            ...Object.fromEntries((cluster.redisCluster?.nodes ?? []).map((node, i) => [`redis-${i + 1}`, node.pid!])),
          },
          // A single server's own INFO cpu and commandstats (a Cluster client's INFO would be one arbitrary node's).
          ...(!cluster.redisCluster && { redis: cluster.environment.redis }),
          db: cluster.environment.db,
        })
      : null;
    log(`sending ${formatCount(plan.length)} requests over ${options.connections} connections to ${urls.length} API(s)`);
    // --sse: each ticket is followed over its stream from its 202 on, as a client would, while the load goes on.
    let finalCount = 0;
    const follower = options.sse ? new TicketFollower({ urls, concurrency: options.sseStreams, identity }, (final) => (finalCount = final)) : null;
    const load = runLoad(plan, {
      urls,
      connections: options.connections,
      timeoutSeconds: options.requestTimeoutSeconds,
      identity,
      ...(options.rate !== null && { overallRate: options.rate }),
      ...(options.maxSeconds !== null && { maxSeconds: options.maxSeconds }),
      ...(follower && { onAnswer: (record: RecordedRequest) => follower.answered(record) }),
    });
    hooks.teardown.add(load.stop);
    const loadStarted = Date.now();
    let lastAnswered = 0;
    progress.phase(() => {
      const { sent, answered, cutOff } = load.progress();
      const rate = answered - lastAnswered;
      lastAnswered = answered;
      return `burst: ${formatCount(sent)} / ${formatCount(plan.length)} sent${cutOff ? ' (cut off by --max-seconds)' : ''}, ${formatCount(answered)} answered (${formatCount(rate)}/s, ${((Date.now() - loadStarted) / 1000).toFixed(0)} s)`;
    });
    const requests = await load.done;
    const cutOff = load.progress().cutOff;
    if (cutOff) log(`--max-seconds ${options.maxSeconds}: ${formatCount(requests.length)} of ${formatCount(plan.length)} planned requests sent; the rest dropped`);
    if (redis) {
      atLastAdmission = await usedMemory(redis);
      censusAtLastAdmission = await censusOf(redis, cluster!.environment.config.REDIS_PREFIX);
    }

    const pending = ticketsOf(requests);
    let stage = 'line ends';
    let sse: FollowFigures | null = null;
    let followed: PollResult;
    if (follower) {
      progress.phase(() => `tickets: ${formatCount(finalCount)} / ${formatCount(pending.length)} final (over their event streams)`);
      const result = await follower.finish(pending, options.deadlineSeconds * 1000);
      sse = result.figures;
      followed = result;
    } else {
      finalCount = 0;
      progress.phase(() => `tickets: ${formatCount(finalCount)} / ${formatCount(pending.length)} final (${stage === 'sweep' ? 'confirming each' : 'watching the end of each line'})`);
      followed = await pollTickets(
        pending,
        { urls, deadlineMs: options.deadlineSeconds * 1000, concurrency: options.pollConcurrency, connections: options.connections, identity },
        (final, now) => ([finalCount, stage] = [final, now]),
      );
    }
    const { tickets, decidedAt } = followed;
    progress.stop();

    const cpuReport = cpuMeter ? await cpuMeter.stop() : null;
    const coupons = await readFacts(options, cluster, urls, codes);
    // A local cluster's wallets: every ticket that ended issued must have the wallet of its id (read in pages).
    const walletsStarted = Date.now();
    const walletIds = cluster ? await walletIdsFromPostgres(cluster.environment.db, codes) : undefined;
    const walletsReadMs = Date.now() - walletsStarted;
    const walletRate: WalletRate | null = cluster ? await walletRateFromPostgres(cluster.environment.db, codes) : null;
    const startedAt = requests.reduce((first, r) => Math.min(first, r.sentAt), Infinity);
    const verifyStarted = Date.now();
    const verdict = verifyRun({ fresh: cluster !== null, startedAt, requests, tickets, decidedAt, coupons, ...(walletIds && { walletIds }) });
    const verifyMs = Date.now() - verifyStarted;
    const generator = generatorMemory.stop();
    const peak = sampler ? await sampler.stop() : null;
    let memory: MemoryReport | null = null;
    if (cluster && redis && baseline !== null && peak !== null) {
      const prefix = cluster.environment.config.REDIS_PREFIX;
      const admitted = requests.filter((r) => r.status === 202).length;
      const users = verdict.coupons.reduce((sum, c) => sum + c.demandUsers, 0);
      memory = {
        redis: options.redisCluster ? 'cluster' : privateRedis ? 'private' : 'shared',
        baselineBytes: baseline,
        peakBytes: Math.max(peak, atLastAdmission),
        atLastAdmissionBytes: atLastAdmission,
        admitted,
        users,
        figures: memoryFigures(baseline, Math.max(peak, atLastAdmission), admitted, users),
        targetBytesPerTicket: TARGET_BYTES_PER_TICKET,
        censusAtLastAdmission,
        retentionSeconds: options.retentionSeconds,
        ticketTtlSeconds: options.ticketTtlSeconds,
        burstMs: verdict.burstMs,
        afterRetention: null,
        afterTicketTtl: null,
      };
      if (options.retentionSeconds !== null) {
        progress.phase(() => `memory: waiting for the coupons' state to expire (EVENT_RETENTION_SECONDS=${options.retentionSeconds})`);
        memory.afterRetention = await afterCouponStateExpired(redis, prefix, codes, baseline, options.retentionSeconds * 1000 + 30_000);
      }
      if (options.memory) {
        const ttl = options.ticketTtlSeconds ?? 86_400;
        progress.phase(() => `memory: waiting for the ticket hashes to expire (TICKET_TTL_SECONDS=${ttl})`);
        memory.afterTicketTtl = await afterTicketsExpired(redis, prefix, baseline, ttl * 1000 + 60_000);
      }
      progress.stop();
    }
    return {
      scenario: {
        preset: options.preset,
        demand: options.demand,
        resubmitRate: options.resubmitRate,
        requests: options.requests,
        connections: options.connections,
        rate: options.rate,
        maxSeconds: options.maxSeconds,
        ownCoupons: options.ownCoupons?.length ?? 0,
      },
      sent: { planned: plan.length, sent: requests.length, cutOff },
      wallets: walletRate && { ...walletRate, idsReadMs: walletsReadMs },
      generator: { ...generator, verifyMs },
      target: cluster ? { kind: 'local', apis: options.apis, workers: options.workers, auth: options.auth, redisCluster: options.redisCluster } : { kind: 'url', urls },
      machine: machineInfo(),
      verdict,
      serviceWarnings: cluster ? groupWarnings(serviceWarnings(cluster)) : [],
      memory,
      cpu: cpuReport ? burstCpu(cpuReport, requests, privateRedis !== null || options.redisCluster) : null,
      sse,
    };
  } finally {
    progress.stop();
    if (cluster) {
      log('tearing the local cluster down');
      await cluster.teardown();
    }
    await privateRedis?.close();
  }
}

function burstCpu(report: CpuReport, requests: readonly RecordedRequest[], privateRedis: boolean): BurstCpu {
  const admitted = requests.filter((r) => r.status === 202).length;
  return {
    perAdmittedUs: cpuPerRole(report, admitted),
    perRequestUs: cpuPerRole(report, requests.length),
    redisPerAdmittedUsByFamily: Object.fromEntries(Object.entries(report.redisUsecByFamily).map(([family, usec]) => [family, admitted > 0 ? usec / admitted : 0])),
    privateRedis,
  };
}
