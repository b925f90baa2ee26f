// What the scenarios where Redis goes back in time share (8: restored from an older snapshot;
// 9: an asynchronous replica promoted by Sentinel): which acknowledged tickets the older Redis
// still holds, how far behind Postgres its mirror is, and how long the heal from Postgres takes.
import type { RecordedRequest } from '@coupons/harness/load';
import { ticketKey } from '@coupons/shared/redis';
import { createRedis } from '@coupons/shared/runtime';
import { waitFor } from '@coupons/shared/testing';
import type { ChaosCluster } from '../cluster.ts';
import { FAST_PATH_REBUILT, logEvents } from '../service-log.ts';
import { seconds } from './common.ts';

/** Per coupon: Postgres's high-water mark (decided_seq) and issued count. */
export type HighWater = Record<string, { decidedSeq: number; issued: number }>;

export async function postgresHighWater(cluster: ChaosCluster, codes: readonly string[]): Promise<HighWater> {
  const rows = await cluster.environment.db
    .selectFrom('coupon')
    .select(['code', 'issued_quantity', 'decided_seq'])
    .where('code', 'in', [...codes])
    .execute();
  return Object.fromEntries(rows.map((r) => [r.code, { decidedSeq: Number(r.decided_seq), issued: r.issued_quantity }]));
}

/** What one Redis holds for the coupons: the mirror (issued, decidedSeq), the arrival counter, dedupe and backlog sizes. */
export type RedisPicture = Record<string, { issued: number | null; decidedSeq: number | null; seq: number | null; users: number; pending: number }>;

export interface RedisHolds {
  /** Ticket ids (of those asked about) whose hash is there whole (with its user). */
  tickets: Set<string>;
  picture: RedisPicture;
}

/**
 * Reads, on a connection of its own to `url` (a server no service knows, or the promoted one
 * right after the failover), which of `tickets` Redis holds and its picture of each coupon.
 */
export async function whatRedisHolds(url: string, cluster: ChaosCluster, codes: readonly string[], tickets: readonly Pick<RecordedRequest, 'ticketId' | 'couponCode'>[]): Promise<RedisHolds> {
  const prefix = cluster.environment.config.REDIS_PREFIX;
  const redis = createRedis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const ids = tickets.filter((t): t is { ticketId: string; couponCode: string } => t.ticketId !== undefined);
    const present = new Set<string>();
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const pipeline = redis.pipeline();
      for (const t of chunk) pipeline.hexists(ticketKey(prefix, t.couponCode, t.ticketId), 'user');
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((t, i) => replies[i]?.[1] === 1 && present.add(t.ticketId));
    }
    const picture: RedisPicture = {};
    for (const code of codes) {
      const keys = cluster.keys(code);
      const [meta, seq, users, pending] = await Promise.all([redis.hgetall(keys.meta), redis.get(keys.seq), redis.hlen(keys.users), redis.zcard(keys.pending)]);
      const num = (v: string | null | undefined) => (v === undefined || v === null ? null : Number(v));
      picture[code] = { issued: num(meta.issued), decidedSeq: num(meta.decidedSeq), seq: num(seq), users, pending };
    }
    return { tickets: present, picture };
  } finally {
    redis.disconnect();
  }
}

/**
 * Per coupon: milliseconds from `since` to its first "fast-path state rebuilt from Postgres"
 * (with its `why`), or null when none came within `timeoutMs` (or the coupon needed none).
 */
export type Heals = Record<string, { ms: number; why?: string } | null>;

/** "A0001 1.2 s after the kill (missing), B0001 not needed or never": the heals of a failover, per coupon. */
export function describeHeals(codes: readonly string[], heals: Heals): string {
  return codes.map((code) => `${code} ${heals[code] ? `${seconds(heals[code]!.ms)} after the kill (${heals[code]!.why ?? '?'})` : 'not needed or never'}`).join(', ');
}

/** From the kill until the APIs were ready, a batch was decided and every heal was done (null if one never came). */
export function failoverRecoveryMs(failoverMs: number, ready: number | null, firstBatch: number | null, heals: Heals): number | null {
  const healMs = Object.values(heals).filter((h) => h !== null).map((h) => h!.ms);
  return ready === null || firstBatch === null ? null : Math.max(failoverMs + ready, failoverMs + firstBatch, ...healMs);
}

export async function healsAfter(cluster: ChaosCluster, codes: readonly string[], since: number, timeoutMs: number): Promise<Heals> {
  const first = (code: string) => logEvents(cluster.services, FAST_PATH_REBUILT).find((e) => e.coupon === code && e.time >= since);
  await waitFor(() => codes.every((code) => first(code) !== undefined), { timeoutMs, intervalMs: 50, message: 'every coupon healed' }).catch(() => {});
  return Object.fromEntries(
    codes.map((code) => {
      const event = first(code);
      return [code, event ? { ms: event.time - since, ...(event.why !== undefined && { why: event.why }) } : null];
    }),
  );
}

/** "A0 Redis issued 12/seq 40 vs Postgres issued 18/decided 52" per coupon. */
export function describeRewind(picture: RedisPicture, truth: HighWater): string {
  return Object.entries(picture)
    .map(([code, p]) => `${code} Redis issued ${p.issued ?? '—'}, decidedSeq ${p.decidedSeq ?? '—'}, seq ${p.seq ?? '—'} vs Postgres issued ${truth[code]?.issued ?? '—'}, decided_seq ${truth[code]?.decidedSeq ?? '—'}`)
    .join('; ');
}

/** 202 answers from before `until`: what Redis had acknowledged when the fault struck. */
export const acknowledgedBefore = (requests: readonly RecordedRequest[], until: number) => requests.filter((r) => r.status === 202 && r.ticketId && r.answeredAt !== null && r.answeredAt < until);
