// The whole system on a real Redis Cluster (six local redis-server nodes: three primaries and a
// replica of each, REDIS_CLUSTER_NODES), real API and worker processes through the harness:
// - a burst over the three seeded coupons and 20 more whose hash tags spread over all three
//   primaries, through two APIs and two workers: exact, unique, 0 inversions, every ticket final;
// - a primary SIGKILLed mid-burst and its replica promoted by the cluster itself: every answer
//   202/200/409, or 503 with Retry-After while the slots move, never another 5xx; then judged on
//   Postgres with the fault named (FaultRules.rewound: the acknowledged admissions asynchronous
//   replication lost, counted; everything else final), and with ADMISSION_DURABILITY=replica
//   (WAIT on the primaries of the coupon's and the queue's slots) not one acknowledged admission lost.
// sentinel-failover.test.ts is the same fault on one primary behind Sentinel.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '@coupons/harness/cluster';
import { distinctUsers, now, parseAnswer, submitAll, type RecordedRequest } from '@coupons/harness/load';
import { pollTickets, ticketsOf } from '@coupons/harness/poll';
import { countLostAdmissions, couponFactsFromPostgres, verifyRun, walletIdsFromPostgres, type FaultRules, type TicketOutcome } from '@coupons/harness/verify';
import { couponKeys, keySlot, ticketKey, type RedisClient } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';

/** The three slot ranges `redis-cli --cluster create` gives three primaries. */
const rangeOf = (slot: number) => (slot < 5461 ? 0 : slot < 10923 ? 1 : 2);

/** `count` coupon codes `${tag}00…`, taken in turn from the three primaries' slot ranges. */
function codesOverPrimaries(tag: string, count: number): string[] {
  const byRange: string[][] = [[], [], []];
  for (let i = 0; byRange.flat().length < count; i++) {
    const code = `${tag}${String(i).padStart(2, '0')}`;
    const range = byRange[rangeOf(keySlot(couponKeys('any', code).meta))]!;
    if (range.length < Math.ceil(count / 3)) range.push(code);
  }
  return byRange.flat().slice(0, count);
}

/** Which primaries (ports) serve these coupons' slots now. */
async function primariesOf(cluster: LocalCluster<RedisClient>, codes: readonly string[]): Promise<Set<number>> {
  const ports = await Promise.all(codes.map(async (code) => (await cluster.redisCluster!.primaryOfSlot(keySlot(cluster.keys(code).meta))).port));
  return new Set(ports);
}

/** Judges a finished run on Postgres: every ticket polled to its end first. */
async function judge(cluster: LocalCluster<RedisClient>, codes: readonly string[], requests: RecordedRequest[], rules: FaultRules = {}) {
  const { tickets } = await pollTickets(ticketsOf(requests), { urls: cluster.apiUrls, deadlineMs: 90_000, concurrency: 16, connections: 48, roundIntervalMs: 200 });
  const outcomes: TicketOutcome[] = tickets.map((ticket) => ({ ...ticket }));
  const { db } = cluster.environment;
  const facts = await couponFactsFromPostgres(db, codes);
  const walletIds = await walletIdsFromPostgres(db, codes);
  const startedAt = requests.reduce((first, r) => Math.min(first, r.sentAt), Infinity);
  const verdict = verifyRun({ fresh: true, startedAt, requests, tickets: outcomes, coupons: facts, walletIds }, rules);
  return { verdict, facts, outcomes, walletIds };
}

describe('a burst on a Redis Cluster: the seeded coupons and 20 more over all three primaries, two APIs, two workers', () => {
  const extra = codesOverPrimaries('RC', 20);
  const seeded = [
    { code: 'A0001', limit: 300, users: 360 },
    { code: 'B0001', limit: 2_000, users: 100 },
    { code: 'C0001', limit: 10_000, users: 100 },
  ];
  const demand = [...seeded, ...extra.map((code) => ({ code, limit: 10, users: 25 }))];
  let cluster: LocalCluster<RedisClient>;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      apis: 2,
      workers: 2,
      redisCluster: true,
      overrides: { BATCH_SIZE: '50' },
      coupons: extra.map((code) => ({ code, limit: 10 })),
      stopWith: 'kill',
    });
  }, 180_000);
  afterAll(() => cluster?.teardown(), 60_000);

  it('is exact, unique, first come first served, every ticket final', async () => {
    expect((await primariesOf(cluster, extra)).size).toBe(3);
    const [first, second] = cluster.apiUrls;
    // Each coupon's users split over both APIs, all coupons at once.
    const answered = (
      await Promise.all(
        demand.flatMap(({ code, users }) => {
          const ids = distinctUsers(users);
          return [submitAll(first!, code, ids.filter((_, i) => i % 2 === 0), 4), submitAll(second!, code, ids.filter((_, i) => i % 2 === 1), 4)];
        }),
      )
    ).flat();
    const { verdict, facts, outcomes } = await judge(cluster, demand.map((d) => d.code), answered);
    console.log(`[redis cluster burst] ${answered.length} requests over ${demand.length} coupons: ${JSON.stringify(verdict.statusCounts)}; ${verdict.tickets} tickets`);
    expect(verdict.failures).toEqual([]);
    expect(outcomes.filter((ticket) => ticket.status !== 'issued' && ticket.status !== 'rejected')).toEqual([]);
    const byCode = (a: (string | number)[], b: (string | number)[]) => String(a[0]).localeCompare(String(b[0]));
    expect(facts.map((fact) => [fact.code, fact.issued, fact.wallets!, fact.distinctWalletUsers!]).sort(byCode)).toEqual(
      demand.map(({ code, limit, users }) => [code, Math.min(limit, users), Math.min(limit, users), Math.min(limit, users)]).sort(byCode),
    );
    expect(verdict.coupons.map((coupon) => coupon.inversions)).toEqual(demand.map(() => 0));
    expect(verdict.serverErrors).toBe(0);
  }, 240_000);
});

/** One user as a real client: POST, and on 503 try again after a short pause until a definite answer. Every attempt is recorded. */
async function askUntilAnswered(baseUrl: string, couponCode: string, userId: string, record: (request: RecordedRequest, retryAfter: string | null) => void): Promise<RecordedRequest> {
  for (let attempt = 0; ; attempt++) {
    const sentAt = now();
    const res = await fetch(`${baseUrl}/v1/coupons/${couponCode}/issue-requests`, { method: 'POST', headers: { 'x-user-id': userId } }).catch(() => undefined);
    const request: RecordedRequest = res
      ? { userId, couponCode, sentAt, answeredAt: now(), status: res.status, ...parseAnswer(await res.text()) }
      : { userId, couponCode, sentAt, answeredAt: null, status: 0 };
    record(request, res?.headers.get('retry-after') ?? null);
    if (request.status !== 503 || attempt >= 300) return request;
    await delay(100);
  }
}

describe.each(['async', 'replica'] as const)('a Redis Cluster primary SIGKILLed mid-burst, its replica promoted (ADMISSION_DURABILITY=%s)', (durability) => {
  const codes = codesOverPrimaries(durability === 'async' ? 'FA' : 'FR', 3);
  const LIMIT = 150;
  const USERS = 300;
  /** The victim is killed once this many users have had their 202. */
  const KILL_AFTER_ACCEPTED = 120;
  let cluster: LocalCluster<RedisClient>;

  beforeAll(async () => {
    cluster = await startLocalCluster({
      apis: 2,
      workers: 2,
      redisCluster: true,
      overrides: {
        ADMISSION_DURABILITY: durability,
        ADMISSION_REPLICA_TIMEOUT_MS: '200',
        RETRY_AFTER_SECONDS: '1',
        BATCH_SIZE: '20',
        LOCK_LEASE_MS: '2000',
        STALLED_INTERVAL_MS: '1000',
        RECONCILE_INTERVAL_MS: '500',
        RECONCILE_GRACE_MS: '1000',
        // Slow batches: the burst is still being decided when the primary dies.
        FAULT_DELAY_BEFORE_COMMIT_MS: '20',
      },
      coupons: codes.map((code) => ({ code, limit: LIMIT })),
      stopWith: 'kill',
    });
  }, 180_000);
  afterAll(() => cluster?.teardown(), 60_000);

  it('answers 202/200/409 or 503 + Retry-After throughout, follows the promotion, and keeps the invariants', async () => {
    const topology = cluster.redisCluster!;
    expect((await primariesOf(cluster, codes)).size).toBe(3);
    const redis = cluster.environment.redis;
    const attempts: { request: RecordedRequest; retryAfter: string | null }[] = [];
    let accepted = 0;
    const users = codes.flatMap((code) => distinctUsers(USERS).map((userId) => ({ code, userId })));
    // Interleaved over the coupons, so every primary is busy when one dies.
    users.sort((a, b) => a.userId.localeCompare(b.userId));
    let next = 0;
    const burst = Promise.all(
      Array.from({ length: 24 }, async (_, lane) => {
        const api = cluster.apiUrls[lane % cluster.apiUrls.length]!;
        while (next < users.length) {
          const { code, userId } = users[next++]!;
          const final = await askUntilAnswered(api, code, userId, (request, retryAfter) => attempts.push({ request, retryAfter }));
          if (final.status === 202) accepted++;
        }
      }),
    );
    await waitFor(() => accepted >= KILL_AFTER_ACCEPTED, { timeoutMs: 60_000, intervalMs: 5, message: `${KILL_AFTER_ACCEPTED} accepted admissions` });
    const victim = await topology.primaryOfSlot(keySlot(cluster.keys(codes[0]!).meta));
    const killedAt = now();
    await topology.kill(victim);
    const acceptedAtKill = accepted;
    const promoted = await topology.waitForPromotion(victim, 90_000).catch(async (error: Error) => {
      // What each node saw, for the report: the cluster's view and the end of every log.
      for (const node of topology.nodes.filter((n) => n.running)) {
        console.log(`:${node.port} CLUSTER NODES\n${String(await node.call('CLUSTER', 'NODES').catch((e: Error) => e.message))}\n${await node.logTail(15)}`);
      }
      throw error;
    });
    const promotedAt = now();
    // The killed node comes back (as Kubernetes restarts a pod) and rejoins as the promoted one's
    // replica: until then a durable admission on that primary has no replica to WAIT for (503).
    await victim.restart();
    await waitFor(async () => (await topology.roles()).some((role) => role.node === victim && role.role === 'slave') && (await victim.info('replication')).master_link_status === 'up', {
      timeoutMs: 60_000,
      message: `:${victim.port} to rejoin as a replica`,
    });
    const rejoinedAt = now();

    // What the promoted replica holds of the tickets acknowledged so far (before anything heals it).
    const acknowledged = attempts.map((a) => a.request).filter((r) => r.status === 202 && r.ticketId && r.answeredAt !== null && r.answeredAt <= promotedAt);
    const held = await Promise.all(acknowledged.map(async (r) => ((await redis.hexists(ticketKey(cluster.environment.config.REDIS_PREFIX, r.couponCode, r.ticketId!), 'user')) === 1 ? r.ticketId! : '')));
    await burst;
    const burstDoneMs = Math.round(now() - killedAt);

    const requests = attempts.map((a) => a.request);
    // Lost: acknowledged, gone from the promoted replica, and no wallet in Postgres either.
    const counted = countLostAdmissions(acknowledged, new Set(held.filter(Boolean)), await walletIdsFromPostgres(cluster.environment.db, codes));
    const { verdict, facts } = await judge(cluster, codes, requests, { unavailableExpected: true, rewound: { lost: counted.lost } });

    const counts = new Map<string, number>();
    for (const { status, code } of requests) counts.set(`${status}${code ? ` ${code}` : ''}`, (counts.get(`${status}${code ? ` ${code}` : ''}`) ?? 0) + 1);
    const unavailable = attempts.filter((a) => a.request.status === 503);
    console.log(
      `[redis cluster failover, ADMISSION_DURABILITY=${durability}] primary :${victim.port} SIGKILLed after ${acceptedAtKill} accepted; ` +
        `:${promoted.port} promoted, cluster_state:ok ${Math.round(promotedAt - killedAt)} ms after the kill; the killed node back as a replica ${Math.round(rejoinedAt - killedAt)} ms after it; burst done ${burstDoneMs} ms after it. ` +
        `answers ${JSON.stringify(Object.fromEntries(counts))}; acknowledged before the promotion ${counted.acknowledged}: ` +
        `in Redis ${counted.survivedInRedis}, as a wallet ${counted.survivedAsWallet}, LOST ${counted.lost.size}; ` +
        `issued ${JSON.stringify(facts.map((f) => [f.code, f.issued]))}; verdict inherent ${JSON.stringify(verdict.inherent)}`,
    );

    // Every answer a contract answer: 202, 200, 409 SOLD_OUT, or 503 with Retry-After; no 500, no silence.
    expect(requests.filter((r) => ![200, 202, 409, 503].includes(r.status))).toEqual([]);
    expect(unavailable.filter((a) => !a.retryAfter)).toEqual([]);
    expect(unavailable.filter((a) => a.request.code !== 'UNAVAILABLE' && a.request.code !== 'OVERLOADED')).toEqual([]);
    // The cluster was followed: admissions after the promotion, on the promoted primary's coupon too.
    expect(requests.some((r) => r.status === 202 && r.couponCode === codes[0] && r.sentAt > promotedAt)).toBe(true);
    // Judged on Postgres with the fault named: 0 over, 0 duplicates, every surviving ticket final.
    expect(verdict.failures).toEqual([]);
    for (const fact of facts) {
      expect(fact.issued).toBeLessThanOrEqual(LIMIT);
      expect(fact.wallets).toBe(fact.issued);
      expect(fact.distinctWalletUsers).toBe(fact.wallets);
    }
    expect(cluster.services.every(({ process }) => process.child.exitCode === null)).toBe(true);
    if (durability === 'replica') expect([...counted.lost]).toEqual([]);
  }, 300_000);
});
