// The durability phase (`pnpm bench --only durability`): what ADMISSION_DURABILITY=replica costs on
// a primary + replica, against async admission and against one WAIT per admission, and what
// appendfsync always costs on a single node against everysec (the deployed policy).
//
// Each admission is the API's own, in Redis (no HTTP, no Postgres): what
// services/api/src/admission/admit-issue-request.ts does for a new user: ReplicaAck.begin() before
// any write (durable), couponScripts on the admission connection, Queue.add of issueJob() on the
// queue connection, then ReplicaAck.confirmReplicated (durable). Connections get the API's own
// options (auto-pipelining on both write connections; the ack connection without). The coupon's
// fast path is opened as a worker's heal would (openUntouchedCoupon), so every admission is admitted.
//
// Private redis-servers only (AOF on, as deployed), on free ports, stopped by their pid; never
// the shared Redis. Every server is emptied (FLUSHALL) and its AOF rewritten between runs, so each
// run starts from the same state and no automatic AOF rewrite lands inside a run.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig } from '@coupons/shared/config';
import { newTicketId } from '@coupons/shared/domain';
import { issueJob, type CouponJobData } from '@coupons/shared/queue';
import { couponScripts, ISSUE_QUEUE_NAME, queuePrefix, registerCommands, type CouponRedis } from '@coupons/shared/redis';
import { connectRedis } from '@coupons/shared/runtime';
import { openUntouchedCoupon, startRedisServer, waitFor, type AppendFsync, type RedisServer } from '@coupons/shared/testing';
// The API is a service and its package (@coupons/api) exports nothing: the API's own ReplicaAck and
// connection options are imported by path, so that the bench measures exactly what the API runs.
import { ReplicaAck } from '../../../services/api/src/admission/replica-ack.ts';
import { apiRedisOptions, replicaAckRedisOptions } from '../../../services/api/src/redis-options.ts';
import type { BenchContext } from './bench-context.ts';
import { DURABILITY_LABELS, summarizeAdmissions, type AdmissionRun, type DurabilityMeasurements, type DurabilitySetup } from './figures.ts';
import { bestOf } from './repeats.ts';

const PREFIX = 'bench-durability';
/** A limit no run reaches. */
const HUGE_LIMIT = 10_000_000;
const OPEN_SINCE = new Date(0);

/** How an admission is confirmed before it is answered. */
type Confirm = 'none' | 'groupCommit' | 'waitEach';

/** The bench itself went wrong (not a refusal the API would answer 503): the phase fails. */
class BenchFault extends Error {}

/** The API's connections to one primary (and its ReplicaAck when `ack` is given). */
interface AdmissionClient {
  redis: CouponRedis;
  queueConnection: Redis;
  queue: Queue<CouponJobData>;
  ack?: ReplicaAck;
  timeoutMs: number;
  close(): Promise<void>;
}

async function openClient(primary: RedisServer, durable: boolean): Promise<AdmissionClient> {
  const config = loadConfig(process.env);
  const timeoutMs = config.ADMISSION_REPLICA_TIMEOUT_MS;
  const redis = registerCommands(await connectRedis(primary.url, apiRedisOptions()));
  const queueConnection = await connectRedis(primary.url, apiRedisOptions());
  const ackConnection = durable ? await connectRedis(primary.url, replicaAckRedisOptions(timeoutMs)) : undefined;
  const connections = [redis, queueConnection, ...(ackConnection ? [ackConnection] : [])];
  for (const connection of connections) connection.on('error', () => {}); // refusals are counted per admission
  const ack = ackConnection
    ? new ReplicaAck({
        ackConnection,
        writeConnections: [redis, queueConnection],
        timeoutMs,
        retryAfterSeconds: config.RETRY_AFTER_SECONDS,
        channel: `${PREFIX}:replica-ack`,
      })
    : undefined;
  await ack?.ready();
  const queue = new Queue<CouponJobData>(ISSUE_QUEUE_NAME, { connection: queueConnection, prefix: queuePrefix(PREFIX) });
  queue.on('error', () => {});
  return {
    redis,
    queueConnection,
    queue,
    ack,
    timeoutMs,
    async close() {
      await queue.close();
      ack?.close();
      await Promise.allSettled(connections.map((connection) => connection.quit()));
    },
  };
}

/** One admission of a new user, as admitIssueRequest does it; rejects where the API would answer 503. */
async function admitOne(client: AdmissionClient, confirm: Confirm, couponCode: string): Promise<void> {
  const { redis, queue, ack } = client;
  // Taken before any write of this admission, so the confirmation covers all of them.
  const replication = confirm === 'groupCommit' ? ack!.begin() : undefined;
  const result = await couponScripts(redis, PREFIX).admit({
    couponCode,
    userId: randomUUID(),
    ticketId: newTicketId(couponCode),
    maxBacklog: Number.MAX_SAFE_INTEGER,
    startsAt: OPEN_SINCE,
    endsAt: null,
    decidedSeqFloor: 0,
  });
  if (result.outcome !== 'admitted') throw new BenchFault(`durability: the admission answered ${result.outcome}, not admitted`);
  const job = issueJob({ couponCode, ticketIds: [result.ticketId], maxSeq: result.seq });
  await queue.add(job.name, job.data, job.opts);
  if (replication) await ack!.confirmReplicated(replication);
  if (confirm === 'waitEach') {
    // The obvious way: WAIT on each connection the admission wrote on. WAIT blocks its
    // connection, so every admission pipelined behind it on that connection waits too.
    const [admitted, queued] = await Promise.all([client.redis.wait(1, client.timeoutMs), client.queueConnection.wait(1, client.timeoutMs)]);
    if (admitted < 1 || queued < 1) throw new Error(`no replica acknowledged within ${client.timeoutMs} ms`);
  }
}

/** `count` admissions, `inFlight` at a time (as many concurrent requests on one API process), timed. */
async function admitMany(ctx: BenchContext, label: string, client: AdmissionClient, confirm: Confirm, count: number): Promise<AdmissionRun> {
  const inFlight = Math.min(ctx.options.durabilityInFlight, count);
  const couponCode = `D${randomUUID().slice(0, 8).toUpperCase()}`;
  await openUntouchedCoupon(client.redis, PREFIX, couponCode, HUGE_LIMIT);
  const samples: { ms: number; ok: boolean }[] = [];
  const roundsBefore = client.ack?.stats.rounds ?? 0;
  let started = 0;
  let fault: BenchFault | undefined;
  let firstRefusal: string | undefined;
  ctx.progress.phase(() => `${label}: ${samples.length.toLocaleString('en-US')} / ${count.toLocaleString('en-US')} admissions`);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < count && !fault) {
        started++;
        const begin = performance.now();
        let ok = true;
        try {
          await admitOne(client, confirm, couponCode);
        } catch (error) {
          if (error instanceof BenchFault) fault = error;
          ok = false;
          firstRefusal ??= (error as Error).message.split('\n')[0];
        }
        samples.push({ ms: performance.now() - begin, ok });
      }
    }),
  );
  const durationMs = performance.now() - t0;
  if (fault) throw fault;
  const run = summarizeAdmissions(
    samples,
    durationMs,
    inFlight,
    confirm === 'groupCommit' ? client.ack!.stats.rounds - roundsBefore : confirm === 'waitEach' ? 2 * samples.length : undefined,
  );
  if (run.refused > 0) ctx.log(`${label}: ${run.refused} of ${count} admissions refused (the API would answer 503), first: ${firstRefusal}`);
  return run;
}

/** Empties the servers (FLUSHALL on the primary reaches the replica) and rewrites their AOF. */
async function resetServers(primary: RedisServer, replicas: RedisServer[]): Promise<void> {
  await primary.call('FLUSHALL');
  for (const replica of replicas) {
    await waitFor(async () => Number(await replica.call('DBSIZE')) === 0, { timeoutMs: 10_000, intervalMs: 10, message: 'the replica to apply FLUSHALL' });
  }
  for (const server of [primary, ...replicas]) {
    await server.call('BGREWRITEAOF');
    await waitFor(
      async () => {
        const persistence = await server.info('persistence');
        return persistence.aof_rewrite_in_progress === '0' && persistence.aof_rewrite_scheduled === '0';
      },
      { timeoutMs: 30_000, intervalMs: 20, message: `redis-server ${server.port} to finish its AOF rewrite` },
    );
  }
}

interface Setup {
  id: DurabilitySetup;
  client: AdmissionClient;
  confirm: Confirm;
  primary: RedisServer;
  replicas: RedisServer[];
}

/**
 * A warm-up of each setup (unmeasured), then `repeat` turns in which every setup is measured
 * once (A, B, C, A, B, C …), the best run of each kept. Servers emptied after every run.
 */
async function measureInTurns(ctx: BenchContext, setups: Setup[]): Promise<Partial<Record<DurabilitySetup, AdmissionRun>>> {
  const { durabilityAdmissions: count, warmupRequests, repeat } = ctx.options;
  const warmup = Math.min(warmupRequests, count);
  const runs = new Map<DurabilitySetup, AdmissionRun[]>(setups.map((setup) => [setup.id, []]));
  for (const setup of setups) {
    if (warmup === 0) continue;
    await admitMany(ctx, `durability: ${DURABILITY_LABELS[setup.id]} (warm-up)`, setup.client, setup.confirm, warmup);
    await resetServers(setup.primary, setup.replicas);
  }
  for (let turn = 0; turn < repeat; turn++) {
    for (const setup of setups) {
      runs.get(setup.id)!.push(await admitMany(ctx, `durability: ${DURABILITY_LABELS[setup.id]}`, setup.client, setup.confirm, count));
      await resetServers(setup.primary, setup.replicas);
    }
  }
  return Object.fromEntries([...runs].map(([id, measured]) => [id, bestOf(measured, (run) => run.perSecond)]));
}

/** A private redis-server, also stopped on Ctrl-C. */
async function startServer(ctx: BenchContext, appendfsync: AppendFsync, extraArgs: string[] = []): Promise<{ server: RedisServer; stop: () => Promise<void> }> {
  const server = await startRedisServer({ appendfsync, extraArgs });
  return { server, stop: ctx.teardown.add(() => server.close()) };
}

/** Opens a client, also closed on Ctrl-C. */
async function open(ctx: BenchContext, primary: RedisServer, durable: boolean): Promise<{ client: AdmissionClient; stop: () => Promise<void> }> {
  const client = await openClient(primary, durable);
  return { client, stop: ctx.teardown.add(() => client.close()) };
}

async function stopAll(stops: (() => Promise<void>)[]): Promise<void> {
  for (const stop of stops.reverse()) await stop();
}

/** Primary + replica (both appendfsync everysec): async, ReplicaAck group commit, a WAIT per admission. */
async function replicatedSetups(ctx: BenchContext) {
  const stops: (() => Promise<void>)[] = [];
  try {
    const primary = await startServer(ctx, 'everysec');
    stops.push(primary.stop);
    const replica = await startServer(ctx, 'everysec', ['--replicaof', '127.0.0.1', String(primary.server.port)]);
    stops.push(replica.stop);
    await waitFor(async () => (await replica.server.info('replication')).master_link_status === 'up', { timeoutMs: 20_000, message: 'the replica to sync' });
    ctx.log(`durability: primary redis-server on port ${primary.server.port} (pid ${primary.server.pid}), replica on ${replica.server.port} (pid ${replica.server.pid})`);
    // The async and the one-WAIT-each admissions share the API's two connections; the durable one has its own three.
    const plain = await open(ctx, primary.server, false);
    stops.push(plain.stop);
    const durable = await open(ctx, primary.server, true);
    stops.push(durable.stop);
    const pair = { primary: primary.server, replicas: [replica.server] };
    return await measureInTurns(ctx, [
      { id: 'async', client: plain.client, confirm: 'none', ...pair },
      { id: 'groupCommit', client: durable.client, confirm: 'groupCommit', ...pair },
      { id: 'waitEach', client: plain.client, confirm: 'waitEach', ...pair },
    ]);
  } finally {
    await stopAll(stops);
  }
}

/** Two single nodes, appendfsync everysec and always, measured in turns with async admission. */
async function singleNodeSetups(ctx: BenchContext) {
  const stops: (() => Promise<void>)[] = [];
  try {
    const everysec = await startServer(ctx, 'everysec');
    stops.push(everysec.stop);
    const always = await startServer(ctx, 'always');
    stops.push(always.stop);
    ctx.log(`durability: single redis-servers, appendfsync everysec on port ${everysec.server.port} (pid ${everysec.server.pid}), always on ${always.server.port} (pid ${always.server.pid})`);
    const everysecClient = await open(ctx, everysec.server, false);
    stops.push(everysecClient.stop);
    const alwaysClient = await open(ctx, always.server, false);
    stops.push(alwaysClient.stop);
    return await measureInTurns(ctx, [
      { id: 'everysec', client: everysecClient.client, confirm: 'none', primary: everysec.server, replicas: [] },
      { id: 'always', client: alwaysClient.client, confirm: 'none', primary: always.server, replicas: [] },
    ]);
  } finally {
    await stopAll(stops);
  }
}

export async function durabilityPhase(ctx: BenchContext): Promise<DurabilityMeasurements> {
  ctx.log('durability: primary + replica (async, ReplicaAck group commit, one WAIT per admission), then one node (appendfsync everysec, always)');
  const replicated = await replicatedSetups(ctx);
  const single = await singleNodeSetups(ctx);
  const runs = { ...replicated, ...single } as DurabilityMeasurements['runs'];
  return { replicaTimeoutMs: loadConfig(process.env).ADMISSION_REPLICA_TIMEOUT_MS, runs };
}
