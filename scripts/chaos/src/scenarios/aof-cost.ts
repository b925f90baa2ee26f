// 0. What the AOF fsync policy costs and what it keeps: the burst unpaced (as fast as the APIs
// answer), Redis SIGKILLed halfway and restarted at once on its AOF. Before the kill: accept
// throughput and latency under this policy. After: whether any request Redis had acknowledged
// (a 202 ticket) was lost with the process. Run it once per policy (--appendfsync) to compare.
import { percentile } from '@coupons/harness/verify';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { answeredShare, startBurst } from '../traffic.ts';
import { explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';

const CONNECTIONS = 64;

export const aofCost: Scenario = {
  id: '0',
  number: 0,
  title: 'AOF cost: unpaced burst, Redis SIGKILLed halfway',
  inQuick: false,
  async run(ctx) {
    const redis = await ctx.startRedis();
    const { coupons, demand, codes } = scenarioCoupons('A0', ctx.sizes);
    const cluster = await ctx.startCluster(redis, { coupons, workers: [{}, {}, {}] });
    const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate: 0, connections: CONNECTIONS });
    const started = Date.now();
    await answeredShare(load, 0.5);
    const answeredBefore = load.progress().answered;
    await redis.stop('SIGKILL');
    const killedAt = Date.now();
    await redis.restart();
    const upAt = Date.now();
    ctx.log(`Redis (appendfsync ${redis.appendfsync}) SIGKILLed after ${answeredBefore} answers in ${seconds(killedAt - started)}; back after ${seconds(upAt - killedAt)}`);
    // Often nothing is left to decide by then (every coupon sold out): no batch is then no fault.
    const firstBatch = await firstBatchAfter(cluster, upAt, {}, 30_000, idleWhenDone(cluster, codes, load.done));

    const observation = await finishBurst(ctx, cluster, load.done, codes);
    const wallets = await explainWallets(cluster, codes, observation);
    const before = observation.requests.filter((r) => r.answeredAt !== null && r.answeredAt < killedAt && r.status === 202);
    const latencies = before.map((r) => r.answeredAt! - r.sentAt).sort((a, b) => a - b);
    const acceptRps = (before.length * 1000) / Math.max(1, killedAt - observation.startedAt);
    // Acknowledged, then gone: a 202 ticket from before the kill that polls 404 afterwards.
    const acknowledgedLost = observation.tickets.filter((t) => t.lastPollStatus === 404 && before.some((r) => r.ticketId === t.ticketId)).length;
    const violations = acknowledgedLost ? [`${acknowledgedLost} tickets answered 202 before the SIGKILL were gone after the restart (appendfsync ${redis.appendfsync})`] : [];
    return {
      observation,
      silentWinners: wallets.silentWinners,
      rules: { unavailableExpected: true },
      faultEndedAt: upAt,
      recover: { ms: firstBatch, what: 'Redis serving again → a batch decided' },
      violations,
      notes: [
        `appendfsync ${redis.appendfsync}: ${before.length} tickets accepted before the kill at ${acceptRps.toFixed(0)}/s over ${CONNECTIONS} connections, ` +
          `202 latency p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms; acknowledged then lost on SIGKILL: ${acknowledgedLost}`,
        ...wallets.notes,
      ],
      details: { appendfsync: redis.appendfsync, acceptedBeforeKill: before.length, acceptRps, p50: percentile(latencies, 50), p99: percentile(latencies, 99), acknowledgedLost },
    };
  },
};
