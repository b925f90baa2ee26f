// 2. Every worker SIGKILLed mid-burst. The API keeps admitting; the backlog waits (nothing is
// decided, nothing is lost); three new workers start and finish it.
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { BATCH_DECIDED, logEvents } from '../service-log.ts';
import { queuePrefix, ISSUE_QUEUE_NAME } from '@coupons/shared/redis';
import { answeredShare, startBurst } from '../traffic.ts';
import { finishBurst, firstBatchAfter, seconds } from './common.ts';

const SLOW_BATCHES = { FAULT_DELAY_BEFORE_COMMIT_MS: '100' };

export const allWorkersKilled: Scenario = {
  id: '2',
  number: 2,
  title: 'every worker killed; backlog waits; new workers finish it',
  inQuick: true,
  async run(ctx) {
    const redis = await ctx.startRedis();
    const { coupons, demand, codes } = scenarioCoupons('K2', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons, workers: [SLOW_BATCHES, SLOW_BATCHES, SLOW_BATCHES] });
    const { db, redis: client } = cluster.environment;
    const violations: string[] = [];
    const notes: string[] = [];
    const load = startBurst(cluster, demand, ctx.sizes.burst);
    await answeredShare(load, 0.3);

    const issuedNow = async () =>
      (await db.selectFrom('coupon').select(['code', 'issued_quantity']).where('code', 'in', codes).execute()).map((c) => `${c.code}=${c.issued_quantity}`).join(' ');
    const victims = cluster.liveWorkers();
    for (const victim of victims) victim.process.signal('SIGKILL');
    await Promise.all(victims.map((v) => v.process.exited));
    const killedAt = Date.now();
    const issuedAtKill = await issuedNow();
    ctx.log(`SIGKILLed all ${victims.length} workers (issued so far: ${issuedAtKill}); the burst goes on`);

    // The backlog waits: the rest of the burst is admitted, nothing is decided, nothing is lost.
    await load.done;
    const backlog = await Promise.all(codes.map((code) => client.zcard(cluster.keys(code).pending)));
    const queue = `${queuePrefix(cluster.environment.config.REDIS_PREFIX)}:${ISSUE_QUEUE_NAME}`;
    const jobs = await Promise.all([client.llen(`${queue}:wait`), client.llen(`${queue}:active`)]);
    const issuedBeforeRestart = await issuedNow();
    const waited = Date.now() - killedAt;
    if (issuedBeforeRestart !== issuedAtKill) violations.push(`issued moved with no worker running: ${issuedAtKill} → ${issuedBeforeRestart}`);
    if (logEvents(cluster.services, BATCH_DECIDED).some((e) => e.time > killedAt)) violations.push('a batch was decided with every worker dead');
    const waiting = backlog.reduce((a, b) => a + b, 0);
    notes.push(`the backlog waited ${seconds(waited)}: ${waiting} tickets pending, ${jobs[0]} jobs waiting and ${jobs[1]} active (the dead workers')`);
    if (waiting === 0) notes.push('nothing was pending when the workers died: the kill came too late to test the backlog');

    // Recovery counts from the spawn: the first new worker up starts deciding before the others are.
    const restartAt = Date.now();
    const starting = cluster.addWorkers(3, SLOW_BATCHES);
    const firstBatch = await firstBatchAfter(cluster, restartAt, {}, 60_000);
    await starting;
    const firstUp = logEvents(cluster.services, /^worker started$/).find((e) => e.time >= restartAt);
    if (firstBatch === null && waiting > 0) violations.push('the new workers decided nothing within 60 s of being started');
    ctx.log(`new workers started; the first batch came ${seconds(firstBatch)} after the spawn`);

    const observation = await finishBurst(ctx, cluster, load.done, codes);
    notes.push(`the first new worker was up ${seconds(firstUp ? firstUp.time - restartAt : null)} after the spawn; first batch ${seconds(firstBatch)} after the spawn`);
    return {
      observation,
      rules: {},
      faultEndedAt: restartAt,
      recover: { ms: firstBatch, what: 'new workers spawned → first batch decided (includes their start-up)' },
      violations,
      notes,
      details: { issuedAtKill, backlog: Object.fromEntries(codes.map((c, i) => [c, backlog[i]])), jobsWaiting: jobs[0], jobsActive: jobs[1], waitedMs: waited },
    };
  },
};
