// The sharded queue on a real Redis Cluster (six local nodes: three primaries, three replicas):
// QUEUE_SHARDS=3, whose shards' slots are spread over the primaries, nine coupons (three per
// shard) asked for at once through one API process and decided by two worker processes. Each
// coupon ends exact, unique, first come first served, every ticket final, and every shard carried
// jobs, kept on the primary that serves its slot.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '@coupons/harness/cluster';
import { distinctUsers, submitAll } from '@coupons/harness/load';
import { pollTickets, ticketsOf } from '@coupons/harness/poll';
import { couponFactsFromPostgres, verifyRun, walletIdsFromPostgres, type TicketOutcome } from '@coupons/harness/verify';
import { shardOfCoupon } from '@coupons/shared/queue';
import { ISSUE_QUEUE_NAME, keySlot, queuePrefix, type RedisClient } from '@coupons/shared/redis';

const SHARDS = 3;
const LIMIT = 20;
const USERS = 150;

/** Three coupon codes per shard, `MC0000`… in order. */
function couponsOverShards(): string[] {
  const perShard: string[][] = Array.from({ length: SHARDS }, () => []);
  for (let i = 0; perShard.some((codes) => codes.length < 3); i++) {
    const code = `MC${String(i).padStart(4, '0')}`;
    const codes = perShard[shardOfCoupon(code, SHARDS)]!;
    if (codes.length < 3) codes.push(code);
  }
  return perShard.flat();
}

describe('the sharded queue on a Redis Cluster (QUEUE_SHARDS=3, two workers)', () => {
  const coupons = couponsOverShards();
  let cluster: LocalCluster<RedisClient>;
  beforeAll(async () => {
    cluster = await startLocalCluster({
      apis: 1,
      workers: 2,
      redisCluster: true,
      overrides: { QUEUE_SHARDS: String(SHARDS), BATCH_SIZE: '20' },
      coupons: coupons.map((code) => ({ code, limit: LIMIT })),
      stopWith: 'kill',
    });
  }, 180_000);
  afterAll(() => cluster?.teardown(), 60_000);

  it('decides every coupon exactly, through every shard, each on the primary of its slot', async () => {
    const url = cluster.apiUrls[0]!;
    const answered = (await Promise.all(coupons.map((code) => submitAll(url, code, distinctUsers(USERS), 6)))).flat();
    expect(answered.filter((a) => a.status >= 500)).toEqual([]);
    const { tickets } = await pollTickets(ticketsOf(answered), { urls: [url], deadlineMs: 120_000, concurrency: 16, connections: 32, roundIntervalMs: 200 });
    const outcomes: TicketOutcome[] = tickets.map((ticket) => ({ ...ticket }));
    expect(outcomes.filter((ticket) => ticket.status === 'queued')).toEqual([]);

    const { db } = cluster.environment;
    const facts = await couponFactsFromPostgres(db, coupons);
    const startedAt = answered.reduce((first, a) => Math.min(first, a.sentAt), Infinity);
    const verdict = verifyRun({ fresh: true, startedAt, requests: answered, tickets: outcomes, coupons: facts, walletIds: await walletIdsFromPostgres(db, coupons) });
    expect(verdict.failures).toEqual([]);
    expect(facts.map((fact) => [fact.code, fact.issued, fact.wallets]).sort()).toEqual(coupons.map((code) => [code, LIMIT, LIMIT]).sort());
    expect(verdict.coupons.map((coupon) => coupon.inversions)).toEqual(facts.map(() => 0));

    // Each shard's events stream (the shard's own slot) saw jobs, on the primary serving that slot.
    const prefix = cluster.environment.config.REDIS_PREFIX;
    for (let shard = 0; shard < SHARDS; shard++) {
      const events = `${queuePrefix(prefix, shard, SHARDS)}:${ISSUE_QUEUE_NAME}:events`;
      expect(await cluster.environment.redis.xlen(events), `shard ${shard}`).toBeGreaterThan(0);
      const primary = new Redis((await cluster.redisCluster!.primaryOfSlot(keySlot(events))).url);
      try {
        expect(await primary.xlen(events), `shard ${shard} on its slot's primary`).toBeGreaterThan(0);
      } finally {
        primary.disconnect();
      }
    }
  }, 240_000);
});
