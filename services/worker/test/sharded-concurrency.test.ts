// The concurrency test over a sharded queue (QUEUE_SHARDS=4): several coupons whose jobs go to
// every shard, three worker processes consuming all shards, thousands of users with duplicate
// storms. Each coupon ends exact, unique, first come first served, every ticket final; the jobs
// went through every shard and none through the single queue of before. Then the start-up checks
// of a worker process: another QUEUE_SHARDS than the API recorded, a shard that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService } from '@coupons/harness/processes';
import { shardOfCoupon } from '@coupons/shared/queue';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const SHARDS = 4;
const LIMIT = 30;
const USERS_PER_COUPON = 300;
// M0001..M0008: two coupons in each of the four shards (FNV-1a mod 4: 3, 2, 1, 0, 3, 2, 1, 0).
const COUPONS = Array.from({ length: 8 }, (_, i) => `M000${i + 1}`);

describe('three workers over QUEUE_SHARDS=4, eight coupons, duplicate storms', () => {
  let event: LocalEvent;
  beforeAll(async () => {
    expect(new Set(COUPONS.map((code) => shardOfCoupon(code, SHARDS))).size).toBe(SHARDS);
    event = await startLocalEvent({
      coupon: COUPONS[0]!,
      limit: LIMIT,
      moreCoupons: COUPONS.slice(1).map((code) => ({ code, limit: LIMIT })),
      workers: 3,
      env: { QUEUE_SHARDS: String(SHARDS), BATCH_SIZE: '20' },
    });
  });
  afterAll(() => event.stop());

  it('issues exactly each limit, once per user, first come first served, every ticket final, through every shard', async () => {
    // Every fifth user asks four times; the coupons' requests run at the same time.
    const answeredPerCoupon = await Promise.all(
      COUPONS.map((code) => {
        const users = distinctUsers(USERS_PER_COUPON);
        return submitAll(event.baseUrl, code, users.flatMap((user, i) => (i % 5 === 0 ? [user, user, user, user] : [user])), 12);
      }),
    );
    for (const [i, code] of COUPONS.entries()) {
      const answered = answeredPerCoupon[i]!;
      expect(answered.filter((a) => a.status >= 500), code).toEqual([]);
      const finalStatus = await waitUntilAllFinal(event, answered);
      expect(await verifyEvent(event, code, answered, finalStatus), code).toEqual(exactEvent(LIMIT));
    }
    // BullMQ's events stream of each shard saw jobs; the single queue's never existed.
    const prefix = event.env.config.REDIS_PREFIX;
    for (let shard = 0; shard < SHARDS; shard++) {
      expect(await event.env.redis.xlen(`${queuePrefix(prefix, shard, SHARDS)}:${ISSUE_QUEUE_NAME}:events`), `shard ${shard}`).toBeGreaterThan(0);
    }
    expect(await event.env.redis.exists(`${queuePrefix(prefix)}:${ISSUE_QUEUE_NAME}:events`, `${queuePrefix(prefix)}:${ISSUE_QUEUE_NAME}:meta`)).toBe(0);
  });

  it.each([
    [{ QUEUE_SHARDS: '2' }, /^worker: QUEUE_SHARDS is 2 but the APIs enqueue into 4 shards \(Redis key \S+:queue-shards\): set QUEUE_SHARDS=4 on this worker, as on every API$/m],
    [{ QUEUE_SHARDS: '4', WORKER_QUEUE_SHARDS: '1,4' }, /^worker: .*WORKER_QUEUE_SHARDS="1,4" \(shard 4 does not exist: QUEUE_SHARDS is 4 \(shards 0\.\.3\)\)/m],
  ])('a worker started with %j refuses to start, in one line', async (env, line) => {
    const worker = spawnService('worker', { ...event.env.env, ...env });
    expect(await worker.exited).not.toBe(0);
    expect(worker.output()).toMatch(line);
    expect(worker.output().trim().split('\n').filter((l) => l.startsWith('worker:'))).toHaveLength(1);
  });
});
