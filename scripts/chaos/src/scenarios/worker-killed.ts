// 1. A worker SIGKILLed in the middle of a batch — first one paused before its Postgres commit,
// then one paused after the commit but before resolving the tickets in Redis — each time a
// replacement started later, once the survivors have taken the dead worker's coupon over.
import { waitFor } from '@coupons/shared/testing';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { BATCH_DECIDED, PAUSING_AFTER_COMMIT, PAUSING_BEFORE_COMMIT, firstEventAfter, logEvents } from '../service-log.ts';
import { startBurst } from '../traffic.ts';
import { finishBurst, firstBatchAfter, seconds } from './common.ts';

/** Small batches that pause before and after their commit, so a kill lands inside one. */
const SLOW_BATCHES = { BATCH_SIZE: '10', FAULT_DELAY_BEFORE_COMMIT_MS: '200', FAULT_DELAY_AFTER_COMMIT_MS: '200' };

export const workerKilledMidBatch: Scenario = {
  id: '1',
  number: 1,
  title: 'worker SIGKILLed mid-batch, replacement later',
  inQuick: false,
  async run(ctx) {
    const redis = await ctx.startRedis();
    const { coupons, demand, codes } = scenarioCoupons('K1', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons, workers: [SLOW_BATCHES, SLOW_BATCHES, SLOW_BATCHES] });
    const load = startBurst(cluster, demand, ctx.sizes.burst);
    const violations: string[] = [];
    const notes: string[] = [];
    const takeovers: (number | null)[] = [];
    const kills: Record<string, unknown>[] = [];
    const replacements: Promise<unknown>[] = [];
    let faultEndedAt = Date.now();

    for (const point of ['before', 'after'] as const) {
      const pausing = point === 'before' ? PAUSING_BEFORE_COMMIT : PAUSING_AFTER_COMMIT;
      const since = Date.now();
      const pause = await waitFor(() => firstEventAfter(cluster.liveWorkers(), pausing, since), {
        timeoutMs: 30_000,
        intervalMs: 5,
        message: `a worker pausing ${point} its commit`,
      });
      const victim = cluster.services.find((s) => s.name === pause.service)!;
      victim.process.signal('SIGKILL');
      const killedAt = Date.now();
      await victim.process.exited;
      ctx.log(`SIGKILLed ${victim.name} while it paused ${point} the commit of a ${pause.coupon} batch (fence ${pause.fence})`);

      // Mid-batch indeed: that pause was the last thing it did on that coupon.
      const later = logEvents([victim], point === 'before' ? /^(fault injection: pausing after commit|batch decided)$/ : BATCH_DECIDED).filter(
        (e) => e.coupon === pause.coupon && e.time >= pause.time,
      );
      if (later.length > 0) notes.push(`the ${point}-commit kill landed after ${victim.name}'s pause ended (not mid-batch)`);

      // The survivors take the coupon over once the lease expires; the replacement comes later.
      const takeover = await firstBatchAfter(cluster, killedAt, { coupon: pause.coupon, notService: victim.name });
      takeovers.push(takeover);
      if (takeover === null) violations.push(`nobody decided a ${pause.coupon} batch within 30 s after ${victim.name} was killed`);
      // Not awaited: the next kill should land while the event is still going.
      replacements.push(cluster.addWorkers(1, SLOW_BATCHES));
      faultEndedAt = Date.now();
      kills.push({ point, victim: victim.name, coupon: pause.coupon, fence: pause.fence, takeoverMs: takeover, midBatch: later.length === 0 });
      ctx.log(`${pause.coupon} taken over ${seconds(takeover)} after the kill; starting a replacement`);
    }
    await Promise.all(replacements);

    const observation = await finishBurst(ctx, cluster, load.done, codes);
    const worst = takeovers.includes(null) ? null : Math.max(...(takeovers as number[]));
    notes.push(`takeover after the kill (lease ${Number(cluster.environment.config.LOCK_LEASE_MS) / 1000} s): before-commit ${seconds(takeovers[0] ?? null)}, after-commit ${seconds(takeovers[1] ?? null)}`);
    return {
      observation,
      rules: {},
      faultEndedAt,
      recover: { ms: worst, what: "kill → another worker decides the dead worker's coupon" },
      violations,
      notes,
      details: { kills },
    };
  },
};
