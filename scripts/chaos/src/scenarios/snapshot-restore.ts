// 8. Redis restored from a snapshot older than Postgres: a private redis-server with the AOF off
// (so a restart loads dump.rdb) and no automatic saves; a manual BGSAVE about 3 s into the burst,
// about 1.5 s more of the event (admissions, and batches committed to Postgres), SIGKILL, restart
// from the snapshot. Redis then holds a consistent but older picture than Postgres: the workers
// must heal it from Postgres (the mirror is behind decided_seq) before deciding anything, winners'
// tickets must be answered, and only what the snapshot never saw may be lost — counted exactly.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, waitFor } from '@coupons/shared/testing';
import { countLostAdmissions } from '@coupons/harness/verify';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { answeredShare, startBurst } from '../traffic.ts';
import { apisReadyAfter, explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';
import { acknowledgedBefore, describeRewind, healsAfter, postgresHighWater, whatRedisHolds } from './rewind.ts';

/** Slower than the burst, so a backlog waits in Redis and batches are decided between the snapshot and the crash. */
const SLOW_BATCHES = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '150' };
const SNAPSHOT_AFTER_S = 3;
const CRASH_AFTER_SNAPSHOT_S = 1.5;

export const snapshotRestore: Scenario = {
  id: '8',
  number: 8,
  title: 'Redis restored from a snapshot older than Postgres',
  inQuick: true,
  async run(ctx) {
    // AOF off: a restart loads dump.rdb. No automatic saves (--save ''): the one snapshot is ours.
    const redis = await ctx.startRedis({ extraArgs: ['--appendonly', 'no', '--save', ''] });
    const { coupons, demand, codes } = scenarioCoupons('S8', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons, workers: [SLOW_BATCHES, SLOW_BATCHES] });
    const violations: string[] = [];
    const notes: string[] = [];
    const rate = ctx.sizes.burst.rate / 2;
    const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate });
    // Paced load: answers stand for time (rate a second), so the fault points follow the burst's
    // progress; never later than 30 % (and 15 % more), so demand remains after the restart however fast it runs.
    await answeredShare(load, Math.min((rate * SNAPSHOT_AFTER_S) / load.total, 0.3));

    const savesBefore = Number((await redis.info('persistence')).rdb_saves ?? 0);
    const snapshotAskedAt = Date.now();
    await redis.call('BGSAVE');
    await waitFor(
      async () => {
        const p = await redis.info('persistence');
        return p.rdb_bgsave_in_progress === '0' && p.rdb_last_bgsave_status === 'ok' && Number(p.rdb_saves) > savesBefore;
      },
      { timeoutMs: 15_000, intervalMs: 20, message: 'BGSAVE to complete' },
    );
    const snapshotAt = Date.now();
    const answeredAtSnapshot = load.progress().answered;
    const truthAtSnapshot = await postgresHighWater(cluster, codes);
    ctx.log(`BGSAVE done in ${seconds(snapshotAt - snapshotAskedAt)} after ${answeredAtSnapshot} answers; running ${CRASH_AFTER_SNAPSHOT_S} s more`);
    await answeredShare(load, answeredAtSnapshot / load.total + Math.min((rate * CRASH_AFTER_SNAPSHOT_S) / load.total, 0.15));

    await redis.stop('SIGKILL');
    const killedAt = Date.now();
    const truthAtKill = await postgresHighWater(cluster, codes);
    // The snapshot, as the restart will load it: a copy read by a server no service knows.
    const copyDir = await mkdtemp(join(tmpdir(), 'chaos-snapshot-'));
    ctx.defer(() => rm(copyDir, { recursive: true, force: true }));
    await copyFile(join(redis.dir, 'dump.rdb'), join(copyDir, 'dump.rdb'));
    await redis.restart();
    const upAt = Date.now();
    const apiReady = apisReadyAfter(cluster, upAt);
    ctx.log(`Redis SIGKILLed ${seconds(killedAt - snapshotAt)} after the snapshot, restarted from it in ${seconds(upAt - killedAt)}`);


    // Measured while the burst goes on (not awaited first: the drain time counts from the restart).
    const recovery = Promise.all([
      healsAfter(cluster, codes, upAt, 30_000),
      firstBatchAfter(cluster, upAt, {}, 30_000, idleWhenDone(cluster, codes, load.done)),
      apiReady,
    ]);
    const observation = await finishBurst(ctx, cluster, load.done, codes);
    const [heals, firstBatch, ready] = await recovery;
    ctx.log(`healed from Postgres: ${codes.map((code) => `${code} ${heals[code] ? `${seconds(heals[code]!.ms)} (${heals[code]!.why ?? '?'})` : 'never'}`).join(', ')}; first batch ${seconds(firstBatch)}`);
    if (ready === null) violations.push('an API did not report ready within 30 s after Redis came back');
    const wallets = await explainWallets(cluster, codes, observation);
    notes.push(...wallets.notes);
    // Acknowledged before the restart (the old process's answers), then: in the snapshot, a wallet, or lost.
    // The copy never changes, so it is read now: exactly what the restart loaded, before any heal.
    const acknowledged = acknowledgedBefore(observation.requests, upAt);
    const inspector = await startRedisServer({ extraArgs: ['--appendonly', 'no', '--save', '', '--dir', copyDir] });
    ctx.defer(() => inspector.close());
    const held = await whatRedisHolds(inspector.url, cluster, codes, acknowledged);
    await inspector.close();
    const counted = countLostAdmissions(acknowledged, held.tickets, observation.walletIds);
    // A heal is needed when the restored arrival counter is below what Postgres decided (tickets
    // decided since the snapshot were admitted after it: their winners' dedupe and tickets are
    // gone). Otherwise every ticket Postgres decided since is still pending in the snapshot and is
    // decided again from the wallets (a replay), and a batch caught in the crash may advance the
    // mirror when its resolve lands on the restored Redis: no heal is then the right answer.
    for (const code of codes) {
      const restoredSeq = held.picture[code]?.seq ?? 0;
      const decided = truthAtKill[code]?.decidedSeq ?? 0;
      if (restoredSeq < decided && !heals[code]) violations.push(`${code}: the restored arrival counter (${restoredSeq}) is below Postgres's decided_seq (${decided}), yet the coupon was never healed within 30 s`);
    }
    // The snapshot is the fork at BGSAVE: what was answered after it was asked is not in it.
    const afterSnapshot = acknowledged.filter((r) => r.answeredAt! >= snapshotAskedAt).length;
    notes.push(
      `snapshot at ${answeredAtSnapshot} answers (BGSAVE ${seconds(snapshotAt - snapshotAskedAt)}), SIGKILL ${seconds(killedAt - snapshotAt)} later, restart ${seconds(upAt - killedAt)}; ` +
        `${counted.acknowledged} admissions acknowledged (202) before the restart (${afterSnapshot} after BGSAVE was asked): ${counted.survivedInRedis} in the snapshot, ` +
        `${counted.survivedAsWallet} only as a wallet (answered from Postgres), LOST ${counted.lost.size}`,
      `at the snapshot Postgres had ${describeHigh(truthAtSnapshot)}; the restored Redis vs Postgres at the crash: ${describeRewind(held.picture, truthAtKill)}`,
      `healed from Postgres after the restart: ${codes.map((code) => `${code} ${heals[code] ? `${seconds(heals[code]!.ms)} (${heals[code]!.why ?? '?'})` : 'never'}`).join(', ')}; APIs ready ${seconds(ready)}, first batch ${seconds(firstBatch)}`,
    );
    const healMs = Object.values(heals).filter((h) => h !== null).map((h) => h!.ms);
    const recoverMs = firstBatch === null || healMs.length === 0 ? null : Math.max(firstBatch, ...healMs);
    return {
      observation,
      silentWinners: wallets.silentWinners,
      rules: { unavailableExpected: true, rewound: { lost: counted.lost } },
      faultEndedAt: upAt,
      recover: { ms: recoverMs, what: 'restarted from the snapshot → healed from Postgres and a batch decided' },
      violations,
      inherent: counted.lost.size ? [`${counted.lost.size} acknowledged admissions (202) lost: neither in the snapshot nor a wallet`] : [],
      notes,
      details: {
        bgsaveMs: snapshotAt - snapshotAskedAt,
        crashAfterSnapshotMs: killedAt - snapshotAt,
        restartMs: upAt - killedAt,
        acknowledgedBeforeRestart: counted.acknowledged,
        acknowledgedAfterSnapshot: afterSnapshot,
        survivedInRedis: counted.survivedInRedis,
        survivedAsWallet: counted.survivedAsWallet,
        lostAdmissions: counted.lost.size,
        postgresAtSnapshot: truthAtSnapshot,
        postgresAtCrash: truthAtKill,
        restored: held.picture,
        heals,
        apiReadyMs: ready,
        firstBatchMs: firstBatch,
      },
    };
  },
};

const describeHigh = (truth: Record<string, { decidedSeq: number; issued: number }>) =>
  Object.entries(truth)
    .map(([code, t]) => `${code} issued ${t.issued}, decided_seq ${t.decidedSeq}`)
    .join('; ');
