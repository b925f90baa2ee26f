// 3. Redis restarted mid-burst, on the same port with the same AOF dir: stopped cleanly
// (SIGTERM: Redis fsyncs the AOF and exits) or crashed (SIGKILL). While it is down every API
// must answer at once with 503 (UNAVAILABLE or OVERLOADED, problem+json, Retry-After): never a
// 500, never a hang. Once it is back the APIs and the workers must reconnect by themselves, and
// each worker must decide again on its own.
import { waitFor } from '@coupons/shared/testing';
import type { Scenario } from '../scenario.ts';
import { logEvents } from '../service-log.ts';
import { countAnswers, startOutageProbe } from '../traffic.ts';
import { apisReadyAfter, checkEachWorkerDecides, explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds, workerCheckViolations } from './common.ts';
import { outageViolations, startOutageEvent } from './outage.ts';

/** Slower than the burst (about 30 decisions a second per coupon), so a backlog waits in Redis when it dies. */
const SLOW_BATCHES = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '150' };
const PROBE_TIMEOUT_MS = 5_000;
const REDIS_TROUBLE = /^(redis connection error|redis \(queue\) connection error|queue error|worker error)$/;

function redisRestart(signal: 'SIGTERM' | 'SIGKILL'): Scenario {
  const variant = signal === 'SIGTERM' ? 'sigterm' : 'sigkill';
  return {
    id: `3-${variant}`,
    number: 3,
    title: `Redis restarted mid-burst (${signal})`,
    inQuick: signal === 'SIGKILL',
    async run(ctx) {
      const redis = await ctx.startRedis();
      const { cluster, codes, probeCode, known, load } = await startOutageEvent(ctx, redis, signal === 'SIGTERM' ? 'R3T' : 'R3K', {
        workers: [SLOW_BATCHES, SLOW_BATCHES, SLOW_BATCHES],
      });
      const violations: string[] = [];
      const notes: string[] = [];

      const persistence = await redis.info('persistence');
      await redis.stop(signal);
      const downAt = Date.now();
      ctx.log(`Redis stopped with ${signal}; probing the APIs while it is down`);
      const probe = startOutageProbe(cluster, known, PROBE_TIMEOUT_MS);
      // Down until every service has noticed (ioredis reports the refused reconnects) and the probe
      // has made a few rounds; a service that never notices is reported, not waited for forever.
      const noticed = () => new Set(logEvents(cluster.services, REDIS_TROUBLE).filter((e) => e.time >= downAt).map((e) => e.service));
      await waitFor(() => probe.rounds() >= ctx.sizes.outageRounds && noticed().size === cluster.services.length, { timeoutMs: 15_000, intervalMs: 50, message: 'every service to notice' }).catch(() => {
        const silent = cluster.services.filter((s) => !noticed().has(s.name)).map((s) => s.name);
        notes.push(`no Redis error logged while it was down by: ${silent.join(', ')}`);
      });
      const answers = await probe.stop();
      const restartAt = Date.now();
      await redis.restart();
      const upAt = Date.now();
      // Measured from here, while we look (our own client reconnects on its own schedule).
      const apiReadyAfter = apisReadyAfter(cluster, upAt);
      const pendingAtRestart = (await Promise.all(codes.map((code) => cluster.environment.redis.zcard(cluster.keys(code).pending)))).reduce((a, b) => a + b, 0);
      ctx.log(`Redis was down ${seconds(restartAt - downAt)}; back (AOF loaded) after ${seconds(upAt - restartAt)}, ${pendingAtRestart} tickets pending`);

      violations.push(...outageViolations(answers, 'Redis', PROBE_TIMEOUT_MS, ['issue', 'ticket']));
      const apiReady = await apiReadyAfter;
      if (apiReady === null) violations.push('an API did not report ready within 30 s after Redis came back');
      const firstBatch = await firstBatchAfter(cluster, upAt, {}, 30_000, idleWhenDone(cluster, codes, load.done));
      if (firstBatch === null && pendingAtRestart > 0) violations.push(`no worker decided a batch within 30 s after Redis came back (${pendingAtRestart} tickets pending)`);
      if (pendingAtRestart === 0) notes.push('nothing was pending when Redis came back');
      ctx.log(`APIs ready ${seconds(apiReady)} and first batch ${seconds(firstBatch)} after Redis came back`);

      const observation = await finishBurst(ctx, cluster, load.done, codes);
      const wallets = await explainWallets(cluster, codes, observation);
      notes.push(...wallets.notes);
      // What the AOF said: fsyncs that fell behind (Redis then delays its writes, up to 2 s), and how the restart loaded it.
      const aofLog = (await redis.logTail(200)).split('\n').filter((line) => /fsync is taking too long|append only file|AOF|short read|truncat/i.test(line));
      ctx.log('checking that each worker decides on its own after the restart');
      const workerChecks = await checkEachWorkerDecides(cluster, probeCode);
      violations.push(...workerCheckViolations(cluster, workerChecks, 'after the Redis restart'));

      const latencies = answers.filter((a) => a.answeredAt !== null).map((a) => a.answeredAt! - a.sentAt);
      const mislabelled = answers.filter((a) => a.code === 'UNAVAILABLE' && !/redis/i.test(a.detail ?? ''));
      notes.push(
        `down ${seconds(restartAt - downAt)}: ${answers.length} probe answers, all within ${Math.round(Math.max(0, ...latencies))} ms; ` +
          `restart to serving ${seconds(upAt - restartAt)}; APIs ready ${seconds(apiReady)}, first batch ${seconds(firstBatch)} after; ` +
          `each worker decided on its own in ${workerChecks.map((c) => `${c.worker} ${seconds(c.ms)}`).join(', ')}`,
      );
      if (mislabelled.length) notes.push(`${mislabelled.length} of the 503 UNAVAILABLE answers named another dependency than Redis ("${mislabelled[0]!.detail}")`);
      const statuses = countAnswers(answers);
      return {
        observation,
        silentWinners: wallets.silentWinners,
        rules: { unavailableExpected: true },
        faultEndedAt: upAt,
        recover: { ms: apiReady === null || firstBatch === null ? null : Math.max(apiReady, firstBatch), what: 'Redis serving again → APIs ready and a batch decided' },
        violations,
        notes,
        details: {
          signal,
          downMs: restartAt - downAt,
          restartMs: upAt - restartAt,
          apiReadyMs: apiReady,
          firstBatchMs: firstBatch,
          pendingAtRestart,
          probe: { answers: answers.length, maxLatencyMs: Math.max(0, ...latencies), statuses, mislabelled: mislabelled.length },
          workerChecks,
          aofBeforeStop: { aof_delayed_fsync: persistence.aof_delayed_fsync, aof_pending_bio_fsync: persistence.aof_pending_bio_fsync, aof_last_write_status: persistence.aof_last_write_status },
          aofLog,
        },
      };
    },
  };
}

export const redisRestartTerm = redisRestart('SIGTERM');
export const redisRestartKill = redisRestart('SIGKILL');
