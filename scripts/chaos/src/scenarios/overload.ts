// 7. Overload: every user asks at once, far over the backlog bound (ADMISSION_MAX_BACKLOG, small
// here) while the workers decide slowly. The excess gets 503 OVERLOADED with Retry-After; the
// pending backlog never passes its bound and Redis memory stays bounded; clients that come back
// after Retry-After are served, and first come, first served holds among them.
import { setTimeout as delay } from 'node:timers/promises';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { isRetryLater, retryingClients, settle } from '../traffic.ts';
import { seconds } from './common.ts';

const BACKLOG_BOUND = 15;
/** Five tickets per batch, each batch 150 ms longer: a coupon decides ~25 a second. */
const SLOW_WORKERS = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '150' };
const MAX_ATTEMPTS = 60;

export const overload: Scenario = {
  id: '7',
  number: 7,
  title: 'overload: far more requests than the backlog bound',
  inQuick: true,
  async run(ctx) {
    const redis = await ctx.startRedis();
    // The scenario's own two coupons only: a seeded one's thousands of clients would add nothing but time.
    const { coupons, demand, codes } = scenarioCoupons('O7', { ...ctx.sizes, seeded: [] });
    const cluster = await ctx.startCluster(redis, {
      coupons,
      apiEnv: { ADMISSION_MAX_BACKLOG: String(BACKLOG_BOUND), RETRY_AFTER_SECONDS: '1' },
      workers: [SLOW_WORKERS, SLOW_WORKERS, SLOW_WORKERS],
    });
    const client = cluster.environment.redis;
    const violations: string[] = [];
    const notes: string[] = [];
    const users = demand.flatMap(({ code, users: n }) => Array.from({ length: n }, () => ({ userId: crypto.randomUUID(), couponCode: code })));

    const memory = async () => Number((await redis.info('memory')).used_memory);
    const memoryBefore = await memory();
    // Sampled while the surge lasts: the largest backlog of any coupon, the most memory used.
    let maxBacklog = 0;
    let peakMemory = memoryBefore;
    let surging = true;
    const sampler = (async () => {
      while (surging) {
        const backlogs = await Promise.all(codes.map((code) => client.zcard(cluster.keys(code).pending)));
        maxBacklog = Math.max(maxBacklog, ...backlogs);
        peakMemory = Math.max(peakMemory, await memory());
        await delay(50); // sampling period
      }
    })();
    ctx.log(`${users.length} clients ask at once (backlog bound ${BACKLOG_BOUND} per coupon); each retries after Retry-After`);
    const attempts = await retryingClients(cluster.apiUrls, users, { maxAttempts: MAX_ATTEMPTS, timeoutMs: ctx.sizes.burst.timeoutSeconds * 1000 });
    const surgeEndedAt = Date.now();
    surging = false;
    await sampler;

    const observation = await settle(cluster, attempts, {
      codes,
      drainTimeoutMs: ctx.sizes.drainTimeoutMs,
      pollDeadlineMs: ctx.sizes.pollDeadlineMs,
      connections: ctx.sizes.burst.connections,
    });
    const memoryAfter = await memory();

    const overloaded = attempts.filter((a) => a.status === 503 && a.code === 'OVERLOADED');
    const malformed = attempts.filter((a) => a.status === 503 && !isRetryLater(a));
    if (malformed.length) violations.push(`${malformed.length} 503 answers without a problem document and a Retry-After`);
    if (overloaded.length === 0) violations.push('the surge was never answered 503 OVERLOADED: the bound did not bite');
    if (maxBacklog > BACKLOG_BOUND) violations.push(`a coupon's backlog reached ${maxBacklog}, over its bound of ${BACKLOG_BOUND}`);
    // Served: the client's last attempt got it in line (a ticket, or a true SOLD_OUT).
    const lastAttempt = new Map<string, (typeof attempts)[number]>();
    for (const a of attempts) lastAttempt.set(`${a.couponCode}:${a.userId}`, a);
    const unserved = [...lastAttempt.values()].filter((a) => !(a.status === 202 || a.status === 200 || (a.status === 409 && a.code === 'SOLD_OUT')));
    if (unserved.length) violations.push(`${unserved.length} clients were never served in ${MAX_ATTEMPTS} attempts (last answers: ${[...new Set(unserved.map((a) => `${a.status} ${a.code ?? ''}`))].join(', ')})`);
    const retried = new Set(overloaded.map((a) => a.userId));
    const firstOverloaded = Math.min(...overloaded.map((a) => a.answeredAt!));
    const lastServed = Math.max(...[...lastAttempt.values()].filter((a) => retried.has(a.userId) && a.answeredAt !== null).map((a) => a.answeredAt!));
    const perClient = [...retried].map((userId) => attempts.filter((a) => a.userId === userId).length);
    const waitMs = Number.isFinite(lastServed - firstOverloaded) ? lastServed - firstOverloaded : null;
    notes.push(
      `${overloaded.length} answers 503 OVERLOADED to ${retried.size} of ${users.length} clients, who came back up to ${Math.max(0, ...perClient)} times and were served within ${seconds(waitMs)}; ` +
        `largest backlog ${maxBacklog} (bound ${BACKLOG_BOUND}); Redis used_memory ${kib(memoryBefore)} before, ${kib(peakMemory)} at peak, ${kib(memoryAfter)} after`,
    );
    return {
      observation,
      rules: {},
      faultEndedAt: surgeEndedAt,
      recover: { ms: waitMs, what: 'first 503 OVERLOADED → the last retrying client served' },
      violations,
      notes,
      details: { backlogBound: BACKLOG_BOUND, maxBacklog, memory: { before: memoryBefore, peak: peakMemory, after: memoryAfter }, overloaded: overloaded.length, retriedClients: retried.size, maxAttemptsPerClient: Math.max(0, ...perClient) },
    };
  },
};

const kib = (bytes: number) => `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB`;
