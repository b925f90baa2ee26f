// The API side of the sharded queue (QUEUE_SHARDS=4): each admitted request's job goes to its
// coupon's shard (FNV-1a mod 4) and nowhere else, heal requests too, the API records the shard
// count for the workers, and /metrics reports jobs per shard and state.
import { describe, expect, it } from 'vitest';
import { readQueueShards, shardOfCoupon } from '@coupons/shared/queue';
import { HealRequests } from '../src/admission/heal-requests.ts';
import { newUserId, requestCoupon, useTestApi } from './helpers.ts';

const SHARDS = 4;

describe('the sharded queue, API side (QUEUE_SHARDS=4)', () => {
  const t = useTestApi({ QUEUE_SHARDS: String(SHARDS) });

  it('records the shard count for the workers to check', async () => {
    expect(await readQueueShards(t.env.redis, t.env.config.REDIS_PREFIX)).toBe(SHARDS);
  });

  it("puts each coupon's job into the coupon's shard, and into no other", async () => {
    for (const code of ['A0001', 'B0001', 'C0001']) {
      const res = await requestCoupon(t, code, newUserId());
      expect(res.status).toBe(202);
      const jobId = `b-${res.body.ticketId}`;
      const shard = shardOfCoupon(code, SHARDS);
      for (const [n, queue] of t.queues.all.entries()) {
        const job = await queue.getJob(jobId);
        if (n === shard) expect(job?.data, `${code} in shard ${n}`).toMatchObject({ couponCode: code, ticketIds: [res.body.ticketId] });
        else expect(job, `${code} not in shard ${n}`).toBeUndefined();
      }
    }
  });

  it("sends a heal request to the coupon's shard", async () => {
    await new HealRequests(t.queues).ask('HS0001');
    const shards = await Promise.all(t.queues.all.map(async (queue) => (await queue.getJob('heal-HS0001')) !== undefined));
    expect(shards).toEqual(t.queues.all.map((_, n) => n === shardOfCoupon('HS0001', SHARDS)));
    await t.queues.forCoupon('HS0001').remove('heal-HS0001');
  });

  it('reports jobs per shard and state on /metrics', async () => {
    const waiting = await Promise.all(t.queues.all.map((queue) => queue.getJobCountByTypes('wait')));
    expect(waiting.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(3);
    const text = await (await fetch(`${t.opsUrl}/metrics`)).text();
    for (const [shard, count] of waiting.entries()) {
      expect(text).toMatch(new RegExp(`^issue_queue_jobs\\{shard="${shard}",state="wait"\\} ${count}$`, 'm'));
      expect(text).toMatch(new RegExp(`^issue_queue_jobs\\{shard="${shard}",state="failed"\\} 0$`, 'm'));
    }
  });
});
