// 10. Redis at maxmemory (noeviction) mid-burst: `CONFIG SET maxmemory` just above what Redis
// uses, held a few seconds, then set back. Redis refuses writes with OOM meanwhile (admissions,
// enqueues, the workers' resolves and lock renewals): every refused request must be a 503 with
// Retry-After (never a 500), nothing over or twice, every ticket admitted before or after final,
// and the event must complete once memory is raised — the clients answered 503 ask again
// (honouring Retry-After) and are served.
import { setTimeout as delay } from 'node:timers/promises';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { answeredShare, countAnswers, issueRequest, isRetryLater, settle, startBurst, type ProbeAnswer } from '../traffic.ts';
import { waitFor } from '@coupons/shared/testing';
import { explainWallets, firstBatchAfter, idleWhenDone, seconds } from './common.ts';

const SLOW_BATCHES = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '100' };
/**
 * The cap, relative to used_memory when it is set: below it, so Redis is at maxmemory at once and
 * refuses every write under noeviction (a cap just above it does not reliably bite: Redis leaves
 * its AOF and client buffers out of the comparison, and the burst frees memory as tickets resolve).
 */
const HEADROOM_BYTES = -64 * 1024;
const HOLD_MS = 3_000;
/** Late refusals: a 503 sent this long after memory was raised is not the cap's. */
const SETTLE_AFTER_RAISE_MS = 2_000;
const RETRY_ATTEMPTS = 10;
/**
 * A coupon of the scenario's own that nobody else asks for and that cannot sell out: while the cap
 * holds, probes ask it (each a new user, so each admission must write), so the cap bites even when
 * the burst itself has already gone quiet (every coupon sold out, answered from the fast path).
 */
const PROBE_COUPON = { code: 'M10PROBE', limit: 1_000_000 };
const PROBE_INTERVAL_MS = 50;

export const maxMemory: Scenario = {
  id: '10',
  number: 10,
  title: 'Redis at maxmemory (noeviction) mid-burst, then raised',
  inQuick: true,
  async run(ctx) {
    const redis = await ctx.startRedis();
    const { coupons, demand, codes } = scenarioCoupons('M10', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons: [...coupons, PROBE_COUPON], workers: [SLOW_BATCHES, SLOW_BATCHES] });
    const violations: string[] = [];
    const notes: string[] = [];
    const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate: ctx.sizes.burst.rate / 2 });
    await answeredShare(load, 0.3);

    const oomErrors = async () => Number(/count=(\d+)/.exec((await redis.info('errorstats')).errorstat_OOM ?? '')?.[1] ?? 0);
    const [, originalMax] = (await redis.call('CONFIG', 'GET', 'maxmemory')) as [string, string];
    const used = Number((await redis.info('memory')).used_memory);
    const oomBefore = await oomErrors();
    await redis.call('CONFIG', 'SET', 'maxmemory', String(used + HEADROOM_BYTES));
    const cappedAt = Date.now();
    ctx.log(`maxmemory set to ${used + HEADROOM_BYTES} (used_memory ${used} + ${HEADROOM_BYTES}); holding ${HOLD_MS / 1000} s`);
    // Held at least HOLD_MS, and until Redis has refused something (the cap bit); not forever if it never does.
    const probes: ProbeAnswer[] = [];
    const bit = await waitFor(
      async () => {
        probes.push(await issueRequest(cluster.apiUrls[probes.length % cluster.apiUrls.length]!, PROBE_COUPON.code, crypto.randomUUID(), 10_000));
        return Date.now() - cappedAt >= HOLD_MS && (await oomErrors()) > oomBefore;
      },
      { timeoutMs: 15_000, intervalMs: PROBE_INTERVAL_MS, message: 'Redis refusing with OOM' },
    ).then(
      () => true,
      () => false,
    );
    const oomRefusals = (await oomErrors()) - oomBefore;
    const usedAtCap = Number((await redis.info('memory')).used_memory);
    await redis.call('CONFIG', 'SET', 'maxmemory', originalMax);
    const raisedAt = Date.now();
    if (!bit) violations.push(`Redis never refused a write with OOM within 15 s at maxmemory ${used + HEADROOM_BYTES}: the cap did not bite`);
    const firstBatch = await firstBatchAfter(cluster, raisedAt, {}, 30_000, idleWhenDone(cluster, codes, load.done));
    ctx.log(`maxmemory back to ${originalMax} after ${seconds(raisedAt - cappedAt)} (${oomRefusals} OOM refusals); first batch ${seconds(firstBatch)} after`);

    const burst = await load.done;
    // Clients answered 503 (or nothing) ask again after Retry-After, as the answer invites, until served.
    const unserved = [...new Map(burst.map((r) => [`${r.couponCode}:${r.userId}`, r])).values()].filter((last) => {
      const mine = burst.filter((r) => r.userId === last.userId && r.couponCode === last.couponCode);
      return mine.every((r) => r.status === 0 || r.status >= 500);
    });
    const retries: ProbeAnswer[] = [];
    await Promise.all(
      unserved.map(async ({ userId, couponCode }, i) => {
        for (let attempt = 1; attempt <= RETRY_ATTEMPTS; attempt++) {
          const answer = await issueRequest(cluster.apiUrls[i % cluster.apiUrls.length]!, couponCode, userId, ctx.sizes.burst.timeoutSeconds * 1000);
          retries.push(answer);
          if (answer.status !== 503) return;
          await delay(Number(answer.retryAfter ?? 1) * 1000); // the client honouring Retry-After
        }
      }),
    );
    const observation = await settle(cluster, [...burst, ...retries], {
      codes,
      drainTimeoutMs: ctx.sizes.drainTimeoutMs,
      pollDeadlineMs: ctx.sizes.pollDeadlineMs,
      connections: ctx.sizes.burst.connections,
    });
    const wallets = await explainWallets(cluster, codes, observation);
    notes.push(...wallets.notes);

    const refused = observation.requests.filter((r) => r.status >= 500);
    const during = refused.filter((r) => r.sentAt < raisedAt + SETTLE_AFTER_RAISE_MS);
    const late = refused.filter((r) => r.sentAt >= raisedAt + SETTLE_AFTER_RAISE_MS);
    const malformed = retries.filter((a) => a.status === 503 && !isRetryLater(a));
    if (late.length) violations.push(`${late.length} requests sent more than ${SETTLE_AFTER_RAISE_MS / 1000} s after memory was raised were answered ${[...new Set(late.map((r) => `${r.status} ${r.code ?? ''}`))].join(', ')}`);
    if (malformed.length) violations.push(`${malformed.length} 503 answers without a problem document and a Retry-After`);
    const probeRefusals = probes.filter((a) => a.status === 503);
    const probeErrors = probes.filter((a) => a.status >= 500 && a.status !== 503);
    if (probeErrors.length) violations.push(`${probeErrors.length} probe admissions during the cap were answered ${[...new Set(probeErrors.map((a) => `${a.status} ${a.code ?? ''}`))].join(', ')}, not 503`);
    if (probeRefusals.some((a) => !isRetryLater(a))) violations.push('a probe admission refused during the cap had no problem document or Retry-After');
    notes.push(`${probes.length} probe admissions while capped: ${Object.entries(countAnswers(probes)).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    if (bit && during.length === 0) notes.push('Redis refused writes, yet no request was answered 503 (the refusals were the workers\')');
    for (const c of observation.coupons) if (c.issued < c.limit) violations.push(`${c.code}: the event did not complete after memory was raised: ${c.issued} of ${c.limit} issued`);
    const stillUnserved = unserved.filter((u) => !retries.some((a) => a.userId === u.userId && a.couponCode === u.couponCode && a.status > 0 && a.status < 500));
    if (stillUnserved.length) violations.push(`${stillUnserved.length} clients answered 503 were still not served after memory was raised (${RETRY_ATTEMPTS} attempts each)`);
    const firstServedAfter = Math.min(...observation.requests.filter((r) => r.sentAt >= raisedAt && r.status === 202).map((r) => r.answeredAt! - raisedAt));
    notes.push(
      `capped at used_memory ${HEADROOM_BYTES / 1024} KiB for ${seconds(raisedAt - cappedAt)} (used_memory ${used} → ${usedAtCap}): ${oomRefusals} OOM refusals in Redis, ` +
        `${during.length} requests answered 503 (${Object.entries(countAnswers(during as ProbeAnswer[])).map(([k, n]) => `${k.replace(/^\S+ /, '')} ×${n}`).join(', ') || 'none'}), 0 allowed as 500; ` +
        `${unserved.length} clients answered only 503 asked again and ${unserved.length - stillUnserved.length} were served; first batch ${seconds(firstBatch)}, ${Number.isFinite(firstServedAfter) ? `first new admission (202) ${seconds(firstServedAfter)} after the raise` : 'no new admission (202) after the raise (the later askers held a ticket or were told SOLD_OUT)'}`,
    );
    return {
      observation,
      silentWinners: wallets.silentWinners,
      rules: { unavailableExpected: true },
      faultEndedAt: raisedAt,
      recover: { ms: firstBatch, what: 'maxmemory raised → a batch decided' },
      violations,
      notes,
      details: {
        maxmemory: used + HEADROOM_BYTES,
        usedAtCap,
        holdMs: raisedAt - cappedAt,
        oomRefusals,
        probes: probes.length,
        probesRefused503: probeRefusals.length,
        answered503: during.length,
        retriedClients: unserved.length,
        servedAfterRaise: unserved.length - stillUnserved.length,
        firstBatchMs: firstBatch,
        firstAcceptedAfterRaiseMs: Number.isFinite(firstServedAfter) ? firstServedAfter : null,
      },
    };
  },
};
