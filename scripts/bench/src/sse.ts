// The sse phase (issue 13): N concurrent ticket streams on ONE API process (default 10,000), the
// API's memory per open stream, and commit → client latency of the final events.
//
// 1. One API process and no worker: N tickets admitted (they stay queued), then a child process
//    (sse-clients.ts) opens one stream per ticket; the API's RSS and V8 heap (its own /metrics)
//    before and with all N open give the memory per stream.
// 2. A worker starts and decides them all; each final event's arrival is timed against the
//    `committedAt` of its batch's published message (same machine clock): p50, p99, max.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { serviceWarnings, startLocalCluster } from '@coupons/harness/cluster';
import { percentile } from '@coupons/harness/verify';
import { openUntouchedCoupon } from '@coupons/shared/testing';
import type { BenchContext } from './bench-context.ts';
import { insertBenchCoupon } from './queue-prefill.ts';
import type { SseClientsMessage, SseClientsStart } from './sse-clients.ts';

const COUPON = 'BENCHSSE';
/** Commit → client latency target (issue 13), p99. */
export const SSE_P99_TARGET_MS = 250;

export interface SseMeasurements {
  streams: number;
  /** Streams that got their first event (all of them, or the API refused some). */
  opened: number;
  failed: number;
  refused: number;
  /** From the first connect until every stream had its first event. */
  openMs: number;
  /** The API process with no stream, and with every stream open (bytes). */
  before: { rssBytes: number; heapUsedBytes: number };
  withStreams: { rssBytes: number; heapUsedBytes: number };
  rssPerStreamBytes: number;
  heapPerStreamBytes: number;
  /** Final events received, and those whose batch message the probe missed. */
  finals: number;
  missingCommit: number;
  unfinished: number;
  events: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Batch messages (one per batch): commit → the probe's own subscription got it, p50 and max: the part of the latency before the API. */
  batches: number;
  messageLagMs: { p50: number; max: number };
}

/** process_resident_memory_bytes and nodejs_heap_size_used_bytes from the API's operations port. */
async function apiMemory(opsUrl: string): Promise<{ rssBytes: number; heapUsedBytes: number }> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rssBytes: value('process_resident_memory_bytes'), heapUsedBytes: value('nodejs_heap_size_used_bytes') };
}

/** N admissions, each a new user, `concurrency` in flight: their tickets. */
async function admit(url: string, count: number, concurrency = 64): Promise<{ ticketId: string; userId: string }[]> {
  const tickets: { ticketId: string; userId: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const userId = randomUUID();
        const res = await fetch(`${url}/v1/coupons/${COUPON}/issue-requests`, { method: 'POST', headers: { 'x-user-id': userId } });
        const body = (await res.json()) as { ticketId?: string };
        if (res.status !== 202 || !body.ticketId) throw new Error(`admission answered ${res.status}: ${JSON.stringify(body)}`);
        tickets.push({ ticketId: body.ticketId, userId });
      }
    }),
  );
  return tickets;
}

export async function ssePhase(ctx: BenchContext): Promise<SseMeasurements> {
  const streams = ctx.options.sseStreams;
  ctx.log(`sse: ${streams} streams on one API process (HTTP_MAX_CONNECTIONS and SSE_MAX_STREAMS raised for it)`);
  let release: () => Promise<void> = async () => {};
  const cluster = await startLocalCluster({
    apis: 1,
    workers: 0,
    // Every stream is a connection: the default cap (4,096) would refuse most of them.
    apiEnv: { HTTP_MAX_CONNECTIONS: String(streams + 1_000), SSE_MAX_STREAMS: String(streams + 100) },
    log: ctx.log,
    onTeardown: (teardown) => (release = ctx.teardown.add(teardown)),
    beforeStart: async (env) => {
      // Half the tickets win, half are rejected: both final events are timed.
      await insertBenchCoupon(env.db, COUPON, Math.ceil(streams / 2));
      await openUntouchedCoupon(env.redis, env.config.REDIS_PREFIX, COUPON, Math.ceil(streams / 2));
    },
  });
  try {
    const url = cluster.apiUrls[0]!;
    const opsUrl = cluster.opsUrls[0]!;
    ctx.progress.phase(() => `sse: admitting ${streams} tickets`);
    const tickets = await admit(url, streams);
    const before = await apiMemory(opsUrl);

    const child = fork(fileURLToPath(new URL('./sse-clients.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const stopChild = ctx.teardown.add(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });
    const messages: SseClientsMessage[] = [];
    const waiters: (() => void)[] = [];
    child.on('message', (message: SseClientsMessage) => {
      messages.push(message);
      for (const wake of waiters.splice(0)) wake();
    });
    const exited = once(child, 'exit');
    const nextMessage = async <K extends SseClientsMessage['kind']>(kind: K): Promise<Extract<SseClientsMessage, { kind: K }>> => {
      for (;;) {
        const found = messages.find((m) => m.kind === kind);
        if (found) return found as Extract<SseClientsMessage, { kind: K }>;
        const woke = new Promise<void>((resolve) => waiters.push(resolve));
        await Promise.race([woke, exited.then(() => {
          throw new Error(`the sse load generator exited before its '${kind}' report`);
        })]);
      }
    };
    const config = cluster.environment.config;
    const start: SseClientsStart = { baseUrl: url, redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX, tickets, connectConcurrency: 256, timeoutMs: 120_000 };
    child.send(start);
    ctx.progress.phase(() => `sse: opening ${streams} streams`);
    const open = await nextMessage('open');
    const withStreams = await apiMemory(opsUrl);
    ctx.log(`sse: ${open.streams} streams open in ${open.openMs} ms (${open.failed} failed, ${open.refused} refused); starting a worker`);

    ctx.progress.phase(() => 'sse: a worker decides every ticket; waiting for the final events');
    await cluster.addWorkers(1);
    const final = await nextMessage('final');
    await stopChild();
    for (const { service, line } of serviceWarnings(cluster).slice(0, 5)) ctx.log(`sse: ${service} warned: ${line.slice(0, 200)}`);
    const sorted = [...final.latenciesMs].sort((a, b) => a - b);
    const lags = [...final.messageLagsMs].sort((a, b) => a - b);
    const opened = Math.max(1, open.streams);
    return {
      streams,
      opened: open.streams,
      failed: open.failed,
      refused: open.refused,
      openMs: open.openMs,
      before,
      withStreams,
      rssPerStreamBytes: (withStreams.rssBytes - before.rssBytes) / opened,
      heapPerStreamBytes: (withStreams.heapUsedBytes - before.heapUsedBytes) / opened,
      finals: final.finals,
      missingCommit: final.missingCommit,
      unfinished: final.unfinished,
      events: final.events,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
      batches: lags.length,
      messageLagMs: { p50: percentile(lags, 50), max: lags.at(-1) ?? NaN },
    };
  } finally {
    ctx.progress.stop();
    await release();
  }
}
