// The dashboard's figures over all replicas (services/api/src/stats): each replica's snapshot in
// Redis, summed by the aggregator; a dead replica's snapshot expires; rates and latency
// percentiles from the replicas' growth. Real Redis and Postgres (own prefix and database).
import { describe, expect, it } from 'vitest';
import { createLogger } from '@coupons/shared/runtime';
import { createTestEnvironment, waitFor } from '@coupons/shared/testing';
import { createApiMetrics, type ApiMetrics } from '../src/metrics/metrics.ts';
import { couponStatusReader } from '../src/stats/coupon-status.ts';
import { FiguresAggregator } from '../src/stats/figures-aggregator.ts';
import { histogramQuantile } from '../src/stats/histogram-quantile.ts';
import { readSnapshots } from '../src/stats/read-snapshots.ts';
import { ACCEPT_ROUTE } from '../src/stats/replica-snapshot.ts';
import { SnapshotPublisher } from '../src/stats/snapshot-publisher.ts';
import { statsKeys } from '../src/stats/stats-keys.ts';
import { useBeforeAll } from './helpers.ts';

const log = createLogger('dashboard-stats-test', 'silent');
const env = useBeforeAll(() => createTestEnvironment(), (e) => e.cleanup());

interface TestReplica {
  metrics: ApiMetrics;
  publisher: SnapshotPublisher;
}

function replica(ttlMs = 5_000): TestReplica {
  const metrics = createApiMetrics(async () => ({}));
  return { metrics, publisher: new SnapshotPublisher({ redis: env.redis, prefix: env.config.REDIS_PREFIX, metrics, log, ttlMs }) };
}

function admit(r: TestReplica, coupon: string, outcome: string, n: number, seconds = 0.004): void {
  for (let i = 0; i < n; i++) {
    r.metrics.admissions.inc({ coupon, outcome });
    r.metrics.httpDuration.observe({ route: ACCEPT_ROUTE }, seconds);
  }
}

function aggregator(): FiguresAggregator {
  const prefix = env.config.REDIS_PREFIX;
  return new FiguresAggregator({ redis: env.redis, prefix, readCoupons: couponStatusReader(env.db, env.redis, prefix), log });
}

const figuresOf = async (a: FiguresAggregator, now?: number) => {
  const figures = await a.tick(now);
  if ('unavailable' in figures) throw new Error(figures.unavailable);
  return figures;
};

describe('figures over all replicas', () => {
  it('sums two replicas’ snapshots per coupon and outcome, with each coupon’s stock and state', async () => {
    const [one, two] = [replica(), replica()];
    admit(one, 'A0001', 'admitted', 3);
    admit(one, 'A0001', 'existing', 1);
    admit(two, 'A0001', 'admitted', 4);
    admit(two, 'A0001', 'sold_out', 2);
    admit(two, 'B0001', 'paused', 5);
    admit(two, 'B0001', 'overloaded', 1);
    await Promise.all([one.publisher.publish(), two.publisher.publish()]);

    const figures = await figuresOf(aggregator());
    expect(figures.replicas).toBe(2);
    const a = figures.coupons.find((c) => c.code === 'A0001')!;
    expect(a.outcomes).toEqual({ admitted: 7, resubmitted: 1, soldOut: 2, paused: 0, overloaded: 0, notOpen: 0 });
    expect(a).toMatchObject({ state: 'open', totalQuantity: 300, issued: 0, remaining: 300, queueDepth: 0 });
    const b = figures.coupons.find((c) => c.code === 'B0001')!;
    expect(b.outcomes).toEqual({ admitted: 0, resubmitted: 0, soldOut: 0, paused: 5, overloaded: 1, notOpen: 0 });
    expect(figures.coupons.map((c) => c.code)).toEqual(['A0001', 'B0001', 'C0001']);

    await Promise.all([one.publisher.stop(), two.publisher.stop()]);
    // A graceful stop withdraws the snapshot at once.
    expect(await readSnapshots(env.redis, env.config.REDIS_PREFIX)).toEqual([]);
  });

  it('drops a dead replica once its snapshot expires, and keeps counting the live one', async () => {
    const live = replica();
    const dead = replica(400);
    admit(live, 'C0001', 'admitted', 2);
    admit(dead, 'C0001', 'admitted', 5);
    await Promise.all([live.publisher.publish(), dead.publisher.publish()]);
    const a = aggregator();
    expect((await figuresOf(a)).coupons.find((c) => c.code === 'C0001')!.outcomes.admitted).toBe(7);

    // `dead` publishes no more (a SIGKILLed pod): its key expires after its TTL.
    await waitFor(async () => (await readSnapshots(env.redis, env.config.REDIS_PREFIX)).length === 1, { message: 'the dead replica’s snapshot to expire' });
    await live.publisher.publish();
    const figures = await figuresOf(a);
    expect(figures.replicas).toBe(1);
    expect(figures.coupons.find((c) => c.code === 'C0001')!.outcomes.admitted).toBe(2);
    // Still listed in the registry (pruned after a minute), but without a snapshot it counts for nothing.
    expect(await env.redis.zscore(statsKeys(env.config.REDIS_PREFIX).replicas, dead.publisher.replicaId)).not.toBeNull();
    await live.publisher.stop();
  });

  it('computes admissions/s from the replicas’ growth and merges their latency histograms for p50/p99', async () => {
    const [one, two] = [replica(), replica()];
    admit(one, 'A0001', 'admitted', 50); // before the aggregator starts: the baseline, not a rate
    await Promise.all([one.publisher.publish(), two.publisher.publish()]);
    const a = aggregator();
    const t0 = Date.now();
    const first = await figuresOf(a, t0);
    expect(first.coupons.find((c) => c.code === 'A0001')!.admissionsPerSecond).toBe(0);
    expect(first.acceptLatency.p50Ms).toBeNull();

    // Two seconds later: 10 more through one replica (fast), 10 through the other (slow).
    admit(one, 'A0001', 'admitted', 10, 0.002);
    admit(two, 'A0001', 'admitted', 10, 0.2);
    await Promise.all([one.publisher.publish(), two.publisher.publish()]);
    const later = await figuresOf(a, t0 + 2_000);
    const coupon = later.coupons.find((c) => c.code === 'A0001')!;
    expect(coupon.admissionsPerSecond).toBe(10); // 20 in 2 s
    expect(coupon.outcomes.admitted).toBe(70);
    // Only the 20 of the window: half at 2 ms (bucket 1–2.5 ms), half at 200 ms (bucket 100–250 ms).
    expect(later.acceptLatency.requests).toBe(20);
    expect(later.acceptLatency.p50Ms).toBeGreaterThan(1);
    expect(later.acceptLatency.p50Ms).toBeLessThanOrEqual(2.5);
    expect(later.acceptLatency.p99Ms).toBeGreaterThan(100);
    expect(later.acceptLatency.p99Ms).toBeLessThanOrEqual(250);
    expect(a.history().map((p) => p.at)).toEqual([t0, t0 + 2_000]);
    await Promise.all([one.publisher.stop(), two.publisher.stop()]);
  });

  it('tells the listeners when Redis or Postgres cannot be read, instead of failing', async () => {
    const a = new FiguresAggregator({
      redis: env.redis,
      prefix: env.config.REDIS_PREFIX,
      readCoupons: () => Promise.reject(new Error('connect ECONNREFUSED')),
      log,
    });
    const seen: unknown[] = [];
    const unsubscribe = a.subscribe((figures) => seen.push(figures));
    await waitFor(() => seen.length > 0, { message: 'a tick' });
    unsubscribe();
    a.stop();
    expect(seen[0]).toMatchObject({ unavailable: expect.stringMatching(/Redis or Postgres/) });
  });
});

describe('histogramQuantile', () => {
  const le = [0.001, 0.01, 0.1, Number.MAX_VALUE];
  it('interpolates inside the bucket holding the rank, as PromQL does', () => {
    expect(histogramQuantile(0.5, le, [0, 10, 10, 10])).toBeCloseTo(0.0055);
    expect(histogramQuantile(0.99, le, [0, 0, 100, 100])).toBeCloseTo(0.0991);
    expect(histogramQuantile(0.5, le, [0, 0, 0, 0])).toBeUndefined();
    // In the +Inf bucket: the last finite bound.
    expect(histogramQuantile(0.99, le, [0, 0, 0, 5])).toBe(0.1);
  });
});
