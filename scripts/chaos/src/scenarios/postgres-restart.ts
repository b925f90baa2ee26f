// 4. Postgres restarted mid-burst. Never the shared server: the scenario runs its own (initdb in
// a temp dir, its own port) and stops it with `pg_ctl -m fast` (clean: sessions terminated, a
// checkpoint) or `-m immediate` (every server process quits at once, crash recovery on start).
// While it is down admission goes on (it needs only Redis), batches fail and are retried,
// tickets wait; once it is back they resolve, with nothing written twice.
import { startPostgresServer, waitFor } from '@coupons/shared/testing';
import type { Scenario } from '../scenario.ts';
import { logEvents } from '../service-log.ts';
import { countAnswers, startOutageProbe } from '../traffic.ts';
import { apisReadyAfter, explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';
import { outageViolations, startOutageEvent } from './outage.ts';

const SLOW_BATCHES = { FAULT_DELAY_BEFORE_COMMIT_MS: '100' };
const PROBE_TIMEOUT_MS = 8_000;
const JOB_FAILED = /^job failed$/;

function postgresRestart(mode: 'fast' | 'immediate'): Scenario {
  return {
    id: `4-${mode}`,
    number: 4,
    title: `Postgres restarted mid-burst (pg_ctl -m ${mode})`,
    inQuick: mode === 'immediate',
    async run(ctx) {
      const postgres = await startPostgresServer();
      ctx.defer(() => postgres.close());
      const redis = await ctx.startRedis();
      // Its seeded coupons live in the private Postgres too: createTestEnvironment migrates and seeds it.
      const { cluster, codes, known, load } = await startOutageEvent(ctx, redis, mode === 'fast' ? 'P4F' : 'P4I', {
        databaseUrl: (name) => postgres.url(name),
        workers: [SLOW_BATCHES, SLOW_BATCHES, SLOW_BATCHES],
      });
      const violations: string[] = [];
      const notes: string[] = [];

      await postgres.stop(mode);
      const downAt = Date.now();
      ctx.log(`Postgres (private, port ${postgres.port}) stopped with -m ${mode}; probing while it is down`);
      const probe = startOutageProbe(cluster, known, PROBE_TIMEOUT_MS);
      // Down until a batch has failed for want of Postgres (and been left to retry), and the probe made a few rounds.
      await waitFor(() => probe.rounds() >= ctx.sizes.outageRounds && logEvents(cluster.services, JOB_FAILED).some((e) => e.time >= downAt), {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: 'a batch to fail',
      }).catch(() => notes.push('no job failed while Postgres was down (no batch was attempted)'));
      const answers = await probe.stop();
      const restartAt = Date.now();
      await postgres.restart();
      const upAt = Date.now();
      const failedJobs = logEvents(cluster.services, JOB_FAILED).filter((e) => e.time >= downAt && e.time <= upAt).length;
      ctx.log(`Postgres was down ${seconds(restartAt - downAt)} (${failedJobs} job attempts failed meanwhile); back after ${seconds(upAt - restartAt)}`);

      violations.push(...outageViolations(answers, 'Postgres', PROBE_TIMEOUT_MS, []));
      const admittedWhileDown = answers.filter((a) => a.what === 'issue' && a.status === 202).length;
      const idle = idleWhenDone(cluster, codes, load.done);
      const firstBatch = await firstBatchAfter(cluster, upAt, {}, 30_000, idle);
      if (firstBatch === null && !(await idle())) violations.push('no worker decided a batch within 30 s after Postgres came back');
      const apiReady = await apisReadyAfter(cluster, upAt);
      if (apiReady === null) violations.push('an API did not report ready within 30 s after Postgres came back');

      const observation = await finishBurst(ctx, cluster, load.done, codes);
      const wallets = await explainWallets(cluster, codes, observation);
      notes.push(...wallets.notes);
      const statuses = countAnswers(answers);
      notes.push(
        `private Postgres down ${seconds(restartAt - downAt)} (-m ${mode}): ${failedJobs} job attempts failed and were retried; ` +
          `probe: ${Object.entries(statuses).map(([k, n]) => `${k} ×${n}`).join(', ')}; ` +
          `first batch ${seconds(firstBatch)} and APIs ready ${seconds(apiReady)} after it was back`,
      );
      if (admittedWhileDown === 0) notes.push('no issue request was admitted while Postgres was down');
      return {
        observation,
        silentWinners: wallets.silentWinners,
        rules: { unavailableExpected: true },
        faultEndedAt: upAt,
        recover: { ms: firstBatch, what: 'Postgres serving again → a batch decided' },
        violations,
        notes,
        details: { mode, downMs: restartAt - downAt, restartMs: upAt - restartAt, failedJobs, firstBatchMs: firstBatch, apiReadyMs: apiReady, probe: statuses },
      };
    },
  };
}

export const postgresRestartFast = postgresRestart('fast');
export const postgresRestartImmediate = postgresRestart('immediate');
