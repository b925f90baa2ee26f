// Redis memory during and after the event: INFO memory's used_memory before the event, sampled
// through it (the peak) and right after the last admission; what each kind of key holds then
// (MEMORY USAGE of every key of the run's prefix: ticket hashes, the dedupe hash, the pending
// zset, BullMQ's job hashes, lists and events stream); and what is left once the coupons' state
// has expired (EVENT_RETENTION_SECONDS) and the ticket hashes too (TICKET_TTL_SECONDS).
// The figures are the event's alone only on a private Redis (--private-redis, --memory).
// On a Redis Cluster (--redis-cluster) every figure is summed over the primaries: each holds its
// slots' keys and has its own used_memory (the replicas hold copies, not more of the event).
import { setTimeout as delay } from 'node:timers/promises';
import { couponKeys, parseRedisInfo, queuePrefix } from '@coupons/shared/redis';
import type { createRedis } from '@coupons/shared/runtime';
import { waitFor } from '@coupons/shared/testing';

type Redis = ReturnType<typeof createRedis>;

/**
 * Each primary's own connection: the one server, or every primary of a Redis Cluster client.
 * Typed loosely on purpose: the harness hands either a single-server or a Cluster client.
 */
export function primariesOf(client: object): Redis[] {
  const cluster = client as { isCluster?: boolean; nodes?(role: 'master'): Redis[] };
  return cluster.isCluster && cluster.nodes ? cluster.nodes('master') : [client as Redis];
}

/** The budget per admitted ticket, everything included (ticket hash, dedupe entry, pending entry, BullMQ job). */
export const TARGET_BYTES_PER_TICKET = 400;

export type KeyKind =
  | 'ticket hashes'
  | 'dedupe (users hash)'
  | 'pending zset'
  | 'coupon counters, mirror, lock'
  | 'BullMQ job hashes'
  | 'BullMQ job locks, logs'
  | 'BullMQ lists and sets'
  | 'BullMQ events stream'
  | 'BullMQ bookkeeping'
  | 'other';

const JOB_LISTS = new Set(['wait', 'active', 'paused', 'delayed', 'prioritized', 'completed', 'failed', 'stalled', 'marker', 'waiting-children', 'limiter', 'pc', 'repeat', 'de']);

/** The name of a key of the run's queue up to its hash tag: `{prefix-queue}:` or a shard's `{prefix-queue-N}:`. */
function queueKeyHead(key: string, prefix: string): string | null {
  const single = `${queuePrefix(prefix)}:`;
  if (key.startsWith(single)) return single;
  const shard = new RegExp(`^\\{${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-queue-\\d+\\}:`).exec(key);
  return shard ? shard[0] : null;
}

/** What a key of this run is, from its name (keys.ts builds them; BullMQ's are `{prefix-queue}:queue:…`, or `{prefix-queue-N}:…` sharded). Pure. */
export function classifyKey(key: string, prefix: string): KeyKind {
  const queue = queueKeyHead(key, prefix);
  if (queue !== null) {
    const rest = key.slice(queue.length).split(':').slice(1); // after the queue name
    if (rest.length === 0) return 'BullMQ bookkeeping';
    if (rest.length >= 2) return 'BullMQ job locks, logs';
    const [name] = rest as [string];
    if (name === 'events') return 'BullMQ events stream';
    if (JOB_LISTS.has(name)) return 'BullMQ lists and sets';
    if (name === 'meta' || name === 'id' || name === 'stalled-check' || name === 'metrics') return 'BullMQ bookkeeping';
    return 'BullMQ job hashes';
  }
  const coupon = /^[^:]+:\{[^}]+\}:(.+)$/.exec(key);
  if (!key.startsWith(`${prefix}:`) || !coupon) return 'other';
  const [, tail] = coupon as unknown as [string, string];
  if (tail.startsWith('ticket:')) return 'ticket hashes';
  if (tail === 'users') return 'dedupe (users hash)';
  if (tail === 'pending') return 'pending zset';
  return 'coupon counters, mirror, lock';
}

export interface CensusRow {
  kind: KeyKind;
  keys: number;
  /** Sum of MEMORY USAGE (key, value and their overheads). */
  bytes: number;
  /** Elements inside (hash fields, zset members, stream entries) where that is what grows; else the keys. */
  entries: number;
  /** bytes / entries. */
  bytesPerEntry: number | null;
  /** A few of its key names (which keys, when only a few are left). */
  sample: string[];
}

/** Folds per-key figures into one row per kind, largest first. Pure. */
export function summariseCensus(keys: readonly { kind: KeyKind; bytes: number; entries: number; key?: string }[]): CensusRow[] {
  const rows = new Map<KeyKind, CensusRow>();
  for (const k of keys) {
    const row = rows.get(k.kind) ?? { kind: k.kind, keys: 0, bytes: 0, entries: 0, bytesPerEntry: null, sample: [] };
    row.keys++;
    if (k.key !== undefined && row.sample.length < 8) row.sample.push(k.key);
    row.bytes += k.bytes;
    row.entries += k.entries;
    rows.set(k.kind, row);
  }
  return [...rows.values()].map((r) => ({ ...r, bytesPerEntry: r.entries > 0 ? Math.round(r.bytes / r.entries) : null })).sort((a, b) => b.bytes - a.bytes);
}

export interface MemoryFigures {
  /** used_memory at the peak minus before the event. */
  liveBytes: number;
  bytesPerAdmittedTicket: number | null;
  bytesPerUser: number | null;
  targetMet: boolean | null;
}

/** Bytes the live event costs per admitted ticket (a 202) and per distinct user asking. Pure. */
export function memoryFigures(baseline: number, peak: number, admitted: number, users: number): MemoryFigures {
  const liveBytes = Math.max(0, peak - baseline);
  const perTicket = admitted > 0 ? Math.round(liveBytes / admitted) : null;
  return {
    liveBytes,
    bytesPerAdmittedTicket: perTicket,
    bytesPerUser: users > 0 ? Math.round(liveBytes / users) : null,
    targetMet: perTicket === null ? null : perTicket <= TARGET_BYTES_PER_TICKET,
  };
}

export interface MemoryAfter {
  /** What was waited for. */
  what: string;
  /** Whether it happened within the wait (false: the figures are from when the wait gave up). */
  reached: boolean;
  waitedMs: number;
  usedBytes: number;
  aboveBaselineBytes: number;
  census: CensusRow[];
}

export interface MemoryReport {
  /** 'cluster': a local Redis Cluster of the run's own, every figure summed over its primaries. */
  redis: 'private' | 'shared' | 'cluster';
  baselineBytes: number;
  peakBytes: number;
  atLastAdmissionBytes: number;
  admitted: number;
  users: number;
  figures: MemoryFigures;
  targetBytesPerTicket: number;
  /** What the run's keys hold right after the last admission. */
  censusAtLastAdmission: CensusRow[];
  retentionSeconds: number | null;
  ticketTtlSeconds: number | null;
  /** How long the burst lasted (first request to last answer): state with a shorter lifetime expired during it. */
  burstMs: number;
  afterRetention: MemoryAfter | null;
  afterTicketTtl: MemoryAfter | null;
}

/**
 * INFO memory's used_memory without what does not belong to the event: the script cache (BullMQ
 * loads its ~40 scripts on first use, a fixed ~170 KiB that the pre-event baseline does not have)
 * and client buffers (they follow the connections open at the moment, not the data).
 */
export async function usedMemory(client: object): Promise<number> {
  let total = 0;
  for (const redis of primariesOf(client)) {
    const info = parseRedisInfo(await redis.info('memory'));
    const field = (name: string) => Number(info[name] ?? 0);
    total += field('used_memory') - field('used_memory_scripts') - field('mem_clients_normal');
  }
  return total;
}

/** Samples used_memory every `intervalMs` until stopped; the largest value seen. */
export function sampleMemory(redis: object, intervalMs = 100): { peak(): number; stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await usedMemory(redis).catch(() => 0));
      await delay(intervalMs); // the sampling period
    }
  })();
  return {
    peak: () => peak,
    async stop() {
      running = false;
      await loop;
      peak = Math.max(peak, await usedMemory(redis).catch(() => 0));
      return peak;
    },
  };
}

/** The keys matching `pattern` on one server (SCAN, never KEYS). */
async function scanNode(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** The keys matching `pattern` on every primary. */
async function scanKeys(client: object, pattern: string): Promise<string[]> {
  return (await Promise.all(primariesOf(client).map((redis) => scanNode(redis, pattern)))).flat();
}

/** Every key of the run (its prefix and its queue's), with MEMORY USAGE (exact: SAMPLES 0) and its element count; on a cluster, each primary's own keys. */
export async function censusOf(client: object, prefix: string): Promise<CensusRow[]> {
  const measured: { kind: KeyKind; bytes: number; entries: number; key: string }[] = [];
  for (const redis of primariesOf(client)) measured.push(...(await measureNode(redis, prefix)));
  return summariseCensus(measured);
}

async function measureNode(redis: Redis, prefix: string): Promise<{ kind: KeyKind; bytes: number; entries: number; key: string }[]> {
  // The queue's keys: `{prefix-queue}` or, with sharded queues, `{prefix-queue-N}`.
  const keys = [...new Set([...(await scanNode(redis, `${prefix}:*`)), ...(await scanNode(redis, `{${prefix}-queue*`))])];
  const measured: { kind: KeyKind; bytes: number; entries: number; key: string }[] = [];
  for (let start = 0; start < keys.length; start += 500) {
    const chunk = keys.slice(start, start + 500);
    const pipeline = redis.pipeline();
    for (const key of chunk) {
      pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
      pipeline.type(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    const lengths = redis.pipeline();
    const kinds = chunk.map((key, i) => ({ key, kind: classifyKey(key, prefix), bytes: Number(replies[2 * i]?.[1] ?? 0), type: String(replies[2 * i + 1]?.[1] ?? 'none') }));
    for (const k of kinds) {
      // Containers that grow with the event count their elements; the rest count as one each.
      if (k.kind === 'dedupe (users hash)' || k.kind === 'BullMQ events stream' || k.kind === 'pending zset' || k.kind === 'BullMQ lists and sets') {
        if (k.type === 'hash') lengths.hlen(k.key);
        else if (k.type === 'zset') lengths.zcard(k.key);
        else if (k.type === 'stream') lengths.xlen(k.key);
        else if (k.type === 'list') lengths.llen(k.key);
        else if (k.type === 'set') lengths.scard(k.key);
        else lengths.exists(k.key);
      } else lengths.exists(k.key);
    }
    const counted = (await lengths.exec()) ?? [];
    kinds.forEach((k, i) => k.type !== 'none' && measured.push({ kind: k.kind, bytes: k.bytes, entries: Number(counted[i]?.[1] ?? 0), key: k.key }));
  }
  return measured;
}

/**
 * Waits until every coupon's state (dedupe, pending, arrival counter, mirror, fence) has expired
 * (the retention), or gives up after `timeoutMs`; then measures.
 */
export async function afterCouponStateExpired(client: object, prefix: string, codes: readonly string[], baseline: number, timeoutMs: number): Promise<MemoryAfter> {
  const started = Date.now();
  const stateKeys = codes.flatMap((code) => {
    const k = couponKeys(prefix, code);
    return [k.users, k.pending, k.seq, k.meta, k.fence];
  });
  // One EXISTS per key: on a cluster the coupons' keys live in different slots.
  const redis = client as Redis;
  const reached = await waitFor(async () => (await Promise.all(stateKeys.map((key) => redis.exists(key)))).every((n) => n === 0), { timeoutMs, intervalMs: 250, message: 'every coupon state expired' }).then(
    () => true,
    () => false,
  );
  return measureAfter(client, prefix, baseline, 'every coupon state expired (EVENT_RETENTION_SECONDS)', reached, started);
}

/** Waits until no ticket hash of the run is left (TICKET_TTL_SECONDS after each was decided), or gives up; then measures. */
export async function afterTicketsExpired(redis: object, prefix: string, baseline: number, timeoutMs: number): Promise<MemoryAfter> {
  const started = Date.now();
  const reached = await waitFor(async () => (await scanKeys(redis, `${prefix}:*:ticket:*`)).length === 0, { timeoutMs, intervalMs: 1_000, message: 'every ticket hash expired' }).then(
    () => true,
    () => false,
  );
  return measureAfter(redis, prefix, baseline, 'every ticket hash expired (TICKET_TTL_SECONDS)', reached, started);
}

async function measureAfter(redis: object, prefix: string, baseline: number, what: string, reached: boolean, started: number): Promise<MemoryAfter> {
  const usedBytes = await usedMemory(redis);
  return { what, reached, waitedMs: Date.now() - started, usedBytes, aboveBaselineBytes: usedBytes - baseline, census: await censusOf(redis, prefix) };
}

/** Warnings about figures a short lifetime distorts: state that expired during the burst, tickets polled after their TTL. Pure. */
export function lifetimeWarnings(m: Pick<MemoryReport, 'retentionSeconds' | 'ticketTtlSeconds' | 'burstMs'>): string[] {
  const warnings: string[] = [];
  const burstS = m.burstMs / 1000;
  if (m.ticketTtlSeconds !== null && m.ticketTtlSeconds < burstS) {
    warnings.push(
      `the burst lasted ${burstS.toFixed(0)} s, longer than TICKET_TTL_SECONDS=${m.ticketTtlSeconds}: tickets decided early expired before the peak (it undercounts) ` +
        'and before their poll (a rejected ticket then answers 404, by contract): give --ticket-ttl-seconds more than the burst lasts',
    );
  }
  if (m.retentionSeconds !== null && m.retentionSeconds < burstS) {
    warnings.push(`EVENT_RETENTION_SECONDS=${m.retentionSeconds} is shorter than the burst (${burstS.toFixed(0)} s): a coupon sold out early had its state expire before the peak`);
  }
  return warnings;
}

export const formatBytes = (bytes: number): string =>
  Math.abs(bytes) >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : Math.abs(bytes) >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;

/** "ticket hashes 12,307 × 180 B = 2.1 MiB · …", naming the keys of a kind with only a few. */
export function formatCensus(rows: readonly CensusRow[]): string {
  return rows
    .filter((r) => r.bytes > 0)
    .map((r) => `${r.kind} ${r.entries.toLocaleString('en-US')}${r.bytesPerEntry === null ? '' : ` × ${r.bytesPerEntry} B`} = ${formatBytes(r.bytes)}${r.keys <= 3 && r.sample.length ? ` (${r.sample.join(', ')})` : ''}`)
    .join(' · ');
}
