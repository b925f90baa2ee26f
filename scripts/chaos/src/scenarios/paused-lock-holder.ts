// 5. A lock holder frozen (SIGSTOP) in the middle of a batch, past its lease — a long GC pause or
// a partition. Another worker takes the lock with a newer fencing token and goes on. When the
// frozen one resumes (SIGCONT) it still believes it holds the lock and tries to write its stale
// batch: Postgres must refuse it (fenced out), and nothing may end over the limit.
//
// The holder starts alone, with batches that pause 4 s before their commit (longer than the
// 1.5 s lease), so it is the one holding the lock; the two other workers start once it is frozen.
import { waitFor } from '@coupons/shared/testing';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { FENCED_OUT, PAUSING_BEFORE_COMMIT, logEvents } from '../service-log.ts';
import { startBurst } from '../traffic.ts';
import { finishBurst, firstBatchAfter, seconds } from './common.ts';

const PAUSE_MS = 4_000;

export const pausedLockHolder: Scenario = {
  id: '5',
  number: 5,
  title: 'lock holder SIGSTOPped past its lease, then SIGCONT',
  inQuick: false,
  async run(ctx) {
    const redis = await ctx.startRedis();
    const { coupons, demand, codes } = scenarioCoupons('F5', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons, workers: [{ FAULT_DELAY_BEFORE_COMMIT_MS: String(PAUSE_MS) }] });
    const { db } = cluster.environment;
    const [holder] = cluster.liveWorkers();
    const violations: string[] = [];
    const notes: string[] = [];
    const load = startBurst(cluster, demand, ctx.sizes.burst);

    await holder!.process.waitForOutput(/pausing before commit/, 30_000);
    holder!.process.signal('SIGSTOP');
    const stoppedAt = Date.now();
    ctx.log(`SIGSTOPped ${holder!.name} inside a batch; starting 2 workers to take over`);
    await cluster.addWorkers(2);
    // Every batch it froze in, (coupon, fence), each to be fenced out when it resumes. Read now:
    // by this time every line it wrote before the SIGSTOP has come through the pipe.
    const frozen = logEvents([holder!], PAUSING_BEFORE_COMMIT).map(({ coupon, fence }) => ({ coupon: coupon!, fence: fence! }));
    ctx.log(`frozen in ${frozen.map((f) => `a ${f.coupon} batch (fence ${f.fence})`).join(' and ')}`);
    const fenceInPostgres = async (code: string) =>
      Number((await db.selectFrom('coupon').select('lock_fence').where('code', '=', code).executeTakeFirstOrThrow()).lock_fence);
    // The takeover: Postgres has accepted a batch with a newer token on every frozen coupon.
    await waitFor(async () => (await Promise.all(frozen.map(async (f) => (await fenceInPostgres(f.coupon)) > f.fence))).every(Boolean), {
      timeoutMs: 30_000,
      intervalMs: 50,
      message: 'the other workers to write with a newer fencing token',
    });
    const takeover = Math.max(...(await Promise.all(frozen.map((f) => firstBatchAfter(cluster, stoppedAt, { coupon: f.coupon, notService: holder!.name }, 1_000)))).map((ms) => ms ?? Infinity));
    ctx.log(`taken over (${seconds(Number.isFinite(takeover) ? takeover : null)} after the SIGSTOP); SIGCONT ${holder!.name}`);

    holder!.process.signal('SIGCONT');
    const resumedAt = Date.now();
    const fencedOut = () => logEvents([holder!], FENCED_OUT).filter((e) => e.time >= resumedAt);
    await waitFor(() => frozen.every((f) => fencedOut().some((e) => e.coupon === f.coupon && e.fence === f.fence)), {
      timeoutMs: 15_000,
      intervalMs: 50,
      message: 'the stale batches to be fenced out',
    }).catch(() => {
      const missing = frozen.filter((f) => !fencedOut().some((e) => e.coupon === f.coupon && e.fence === f.fence));
      violations.push(`no "fenced out" for ${missing.map((f) => `${f.coupon} fence ${f.fence}`).join(', ')} within 15 s of SIGCONT (last lines: ${holder!.process.output().trim().split('\n').slice(-3).join(' | ')})`);
    });
    // Its later batches would pause 4 s each: it leaves gracefully and a plain worker replaces it.
    holder!.process.signal('SIGTERM');
    await holder!.process.exited;
    await cluster.addWorkers(1);
    const faultEndedAt = Date.now();

    const observation = await finishBurst(ctx, cluster, load.done, codes);
    const finalFences = await Promise.all(frozen.map((f) => fenceInPostgres(f.coupon)));
    notes.push(
      `frozen in ${frozen.length} batch(es) (${frozen.map((f, i) => `${f.coupon} fence ${f.fence}, Postgres now ${finalFences[i]}`).join('; ')}); ` +
        `refused on resume: ${fencedOut().length}`,
    );
    return {
      observation,
      rules: {},
      faultEndedAt,
      recover: { ms: Number.isFinite(takeover) ? takeover : null, what: 'SIGSTOP → another worker decides a batch of the frozen coupon' },
      violations,
      notes,
      details: { frozen, finalFences, fencedOut: fencedOut().length },
    };
  },
};
