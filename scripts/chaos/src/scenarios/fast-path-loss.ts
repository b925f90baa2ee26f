// 6. Redis loses the fast-path state mid-burst: (a) each coupon's `meta` (issued, soldOut) and
// `users` (the per-user dedupe) keys deleted; (b) the whole Redis flushed (FLUSHALL), which
// also takes the queue, the pending tickets and the locks. The workers rebuild the fast path
// from Postgres; Postgres constraints and fencing keep the limits exact and wallets unique.
// What (b) loses with Redis — tickets admitted and not yet decided, users' places in line,
// the dedupe — is reported as inherent; anything else that breaks is a violation.
import { waitFor } from '@coupons/shared/testing';
import type { ChaosCluster } from '../cluster.ts';
import type { Scenario, ScenarioContext } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { FAST_PATH_REBUILT, logEvents } from '../service-log.ts';
import { answeredShare, issueRequest, startBurst } from '../traffic.ts';
import { explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';

const SLOW_BATCHES = { FAULT_DELAY_BEFORE_COMMIT_MS: '100' };

/** After the event: each coupon's meta mirrors Postgres, and a newcomer to a sold-out coupon is told SOLD_OUT at once. */
async function fastPathViolations(cluster: ChaosCluster, codes: string[]): Promise<string[]> {
  const violations: string[] = [];
  const rows = await cluster.environment.db.selectFrom('coupon').select(['code', 'total_quantity', 'issued_quantity']).where('code', 'in', codes).execute();
  for (const row of rows) {
    const meta = await cluster.environment.redis.hgetall(cluster.keys(row.code).meta);
    const expected = { total: String(row.total_quantity), issued: String(row.issued_quantity), soldOut: row.issued_quantity >= row.total_quantity ? '1' : '0' };
    if (meta.total !== expected.total || meta.issued !== expected.issued || meta.soldOut !== expected.soldOut) {
      violations.push(`${row.code}: fast-path meta ${JSON.stringify(meta)} disagrees with Postgres ${JSON.stringify(expected)}`);
    }
    if (row.issued_quantity >= row.total_quantity) {
      const late = await issueRequest(cluster.apiUrls[0]!, row.code, crypto.randomUUID(), 10_000);
      if (late.status !== 409 || late.code !== 'SOLD_OUT') violations.push(`${row.code}: a newcomer after the sell-out got ${late.status} ${late.code ?? ''}, not 409 SOLD_OUT`);
    }
  }
  return violations;
}

/** Waits until every coupon has issued something (so the loss is mid-event); a note if one has not, or one had sold out. */
async function untilIssuing(cluster: ChaosCluster, codes: string[], notes: string[]): Promise<string> {
  const issued = () => cluster.environment.db.selectFrom('coupon').select(['code', 'issued_quantity', 'total_quantity']).where('code', 'in', codes).execute();
  await waitFor(async () => (await issued()).every((c) => c.issued_quantity > 0), { timeoutMs: 20_000, intervalMs: 20, message: 'every coupon issuing' }).catch(() =>
    notes.push('not every coupon had issued something when the state was lost'),
  );
  const rows = await issued();
  const soldOut = rows.filter((c) => c.issued_quantity >= c.total_quantity).map((c) => c.code);
  if (soldOut.length) notes.push(`already sold out when the state was lost: ${soldOut.join(', ')}`);
  return rows.map((c) => `${c.code} ${c.issued_quantity}/${c.total_quantity}`).join(', ');
}

async function loseFastPath(ctx: ScenarioContext, how: 'delete' | 'flush') {
  const redis = await ctx.startRedis();
  const { coupons, demand, codes } = scenarioCoupons(how === 'delete' ? 'L6A' : 'L6B', ctx.sizes);
  const cluster = await ctx.startCluster(redis, { coupons, workers: [SLOW_BATCHES, SLOW_BATCHES, SLOW_BATCHES] });
  const violations: string[] = [];
  const notes: string[] = [];
  const load = startBurst(cluster, demand, ctx.sizes.burst);
  // Mid-event: as soon as every coupon has issued something, long before any sells out.
  await answeredShare(load, 0.1);
  const issuedThen = await untilIssuing(cluster, codes, notes);

  const client = cluster.environment.redis;
  const lostAt = Date.now();
  if (how === 'delete') {
    await Promise.all(codes.map((code) => client.del(cluster.keys(code).meta, cluster.keys(code).users)));
    ctx.log(`deleted meta and users of ${codes.join(', ')} (issued then: ${issuedThen})`);
  } else {
    await client.flushall();
    ctx.log(`FLUSHALL (issued then: ${issuedThen})`);
  }

  // Recovery: every coupon's fast path rebuilt from Postgres (and, after a flush, batches decided again).
  const rebuiltAfter = async () => {
    try {
      await waitFor(() => codes.every((code) => logEvents(cluster.services, FAST_PATH_REBUILT).some((e) => e.coupon === code && e.time >= lostAt)), {
        timeoutMs: 30_000,
        intervalMs: 20,
        message: 'every coupon rebuilt',
      });
      return Math.max(...codes.map((code) => logEvents(cluster.services, FAST_PATH_REBUILT).find((e) => e.coupon === code && e.time >= lostAt)!.time - lostAt));
    } catch {
      return null;
    }
  };
  const idle = idleWhenDone(cluster, codes, load.done);
  const [rebuilt, firstBatch] = await Promise.all([rebuiltAfter(), firstBatchAfter(cluster, lostAt, {}, 30_000, idle)]);
  if (rebuilt === null) violations.push('the fast path of some coupon was not rebuilt within 30 s (no "fast-path state rebuilt" line)');
  if (firstBatch === null && !(await idle())) violations.push('no batch was decided within 30 s after the loss');
  ctx.log(`fast path rebuilt ${seconds(rebuilt)}, first batch ${seconds(firstBatch)} after the loss`);

  // After a flush the tickets it took never become final: polling them is cut short.
  const observation = await finishBurst(ctx, cluster, load.done, codes, how === 'flush' ? 5_000 : ctx.sizes.pollDeadlineMs);
  violations.push(...(await fastPathViolations(cluster, codes)));
  const wallets = await explainWallets(cluster, codes, observation);
  notes.push(...wallets.notes);
  const rebuilds = logEvents(cluster.services, FAST_PATH_REBUILT).filter((e) => e.time >= lostAt).length;
  notes.push(`lost at ${issuedThen}; rebuilt from Postgres ${seconds(rebuilt)} later (${rebuilds} rebuilds), first batch ${seconds(firstBatch)} after`);
  return {
    observation,
    silentWinners: wallets.silentWinners,
    rules: how === 'delete' ? { secondTicketsExpected: true } : { redisFlushed: true },
    faultEndedAt: lostAt,
    recover: { ms: rebuilt === null || firstBatch === null ? null : Math.max(rebuilt, firstBatch), what: 'state lost → fast path rebuilt and a batch decided' },
    violations,
    notes,
    details: { issuedAtLoss: issuedThen, rebuiltMs: rebuilt, firstBatchMs: firstBatch, rebuilds },
  };
}

export const fastPathKeysDeleted: Scenario = {
  id: '6a',
  number: 6,
  title: 'fast-path keys (meta, users) deleted mid-burst',
  inQuick: false,
  run: (ctx) => loseFastPath(ctx, 'delete'),
};

export const redisFlushed: Scenario = {
  id: '6b',
  number: 6,
  title: 'Redis FLUSHALL mid-burst',
  inQuick: true,
  run: (ctx) => loseFastPath(ctx, 'flush'),
};
