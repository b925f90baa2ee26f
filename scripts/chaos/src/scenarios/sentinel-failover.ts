// 9. Sentinel failover: Redis is a primary, two replicas and three sentinels
// (startSentinelTopology); every service finds the primary through REDIS_SENTINELS. The primary
// is SIGKILLed mid-burst; the sentinels promote a replica (the other is re-pointed at it); the
// APIs and workers follow by themselves. An asynchronous replica may not have had the last
// writes: it is a Redis gone back in time, healed from Postgres like a snapshot (8), and the
// acknowledged admissions it lost are counted. ADMISSION_DURABILITY=replica (a 202 only after
// WAIT 1) must lose none of them: there it is a violation.
import { createRedis, redisTarget } from '@coupons/shared/runtime';
import { startSentinelTopology } from '@coupons/shared/testing';
import { countLostAdmissions } from '@coupons/harness/verify';
import type { Scenario } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { answeredShare, startBurst } from '../traffic.ts';
import { apisReadyAfter, explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';
import { acknowledgedBefore, describeHeals, describeRewind, failoverRecoveryMs, healsAfter, postgresHighWater, whatRedisHolds } from './rewind.ts';

const SLOW_BATCHES = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '150' };

function sentinelFailover(durability: 'async' | 'replica'): Scenario {
  return {
    id: `9-${durability}`,
    number: 9,
    title: `Sentinel failover: primary SIGKILLed mid-burst (ADMISSION_DURABILITY=${durability})`,
    inQuick: false,
    async run(ctx) {
      // Two replicas: the one not promoted follows the new primary, so WAIT 1 has a replica after the failover too.
      const topology = await startSentinelTopology({ replicas: 2, server: { appendfsync: ctx.appendfsync } });
      ctx.defer(() => topology.close());
      const { coupons, demand, codes } = scenarioCoupons(durability === 'async' ? 'S9A' : 'S9R', ctx.sizes);
      const cluster = await ctx.startCluster(topology.primary, {
        coupons,
        workers: [SLOW_BATCHES, SLOW_BATCHES],
        env: {
          REDIS_SENTINELS: topology.sentinelsEnv,
          REDIS_SENTINEL_NAME: topology.name,
          ADMISSION_DURABILITY: durability,
          ADMISSION_REPLICA_TIMEOUT_MS: '200',
        },
      });
      const violations: string[] = [];
      const notes: string[] = [];
      const { config } = cluster.environment;

      // Durable mode confirms each admission with a marker published before WAIT (admission/replica-ack.ts): counted here.
      let markers = 0;
      const subscriber = createRedis(redisTarget(config), { maxRetriesPerRequest: null });
      subscriber.on('error', () => {});
      ctx.defer(async () => subscriber.disconnect());
      subscriber.on('message', () => markers++);
      await subscriber.subscribe(`${config.REDIS_PREFIX}:replica-ack`);

      const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate: ctx.sizes.burst.rate / 2 });
      await answeredShare(load, 0.35);
      const markersBeforeKill = markers;
      const replication = await topology.primary.info('replication');
      const killed = await topology.killPrimary();
      const killedAt = Date.now();
      const truthAtKill = await postgresHighWater(cluster, codes);
      const promotedPort = await topology.waitForFailover(killed.port, 30_000);
      const promotedAt = Date.now();
      const promoted = topology.primary;
      // Its picture of the coupons as promoted, before anything heals it.
      const { picture } = await whatRedisHolds(promoted.url, cluster, codes, []);
      ctx.log(`primary :${killed.port} SIGKILLed; sentinels promoted :${promotedPort} after ${seconds(promotedAt - killedAt)}`);
      const apiReady = apisReadyAfter(cluster, promotedAt);
      // Measured while the burst goes on (not awaited first: the drain time counts from the promotion).
      const recovery = Promise.all([
        healsAfter(cluster, codes, killedAt, 30_000),
        firstBatchAfter(cluster, promotedAt, {}, 30_000, idleWhenDone(cluster, codes, load.done)),
        apiReady,
      ]);
      const observation = await finishBurst(ctx, cluster, load.done, codes);
      const [heals, firstBatch, ready] = await recovery;
      if (ready === null) violations.push('an API did not report ready within 30 s after the failover');
      const wallets = await explainWallets(cluster, codes, observation);
      notes.push(...wallets.notes);
      // Acknowledged while the old primary served (before the promotion), then: on the promoted one, a wallet, or lost.
      // The promoted server is read now: a heal may have rewritten winners' tickets since (they count as wallets either way).
      const acknowledged = acknowledgedBefore(observation.requests, promotedAt);
      const held = await whatRedisHolds(promoted.url, cluster, codes, acknowledged);
      const counted = countLostAdmissions(acknowledged, held.tickets, observation.walletIds);
      if (durability === 'replica') {
        if (counted.lost.size) violations.push(`${counted.lost.size} acknowledged admissions (202) lost in ADMISSION_DURABILITY=replica mode: neither on the promoted replica nor a wallet`);
        if (markersBeforeKill === 0) {
          violations.push(`ADMISSION_DURABILITY=replica, yet no replica confirmation (WAIT marker on ${config.REDIS_PREFIX}:replica-ack) was published for ${acknowledged.length} acknowledged admissions: 202s were sent without waiting for a replica`);
        }
      }
      // From the kill: the promotion, then every API ready, a batch decided and every heal done.
      const failoverMs = promotedAt - killedAt;
      const recoverMs = failoverRecoveryMs(failoverMs, ready, firstBatch, heals);
      notes.push(
        `primary SIGKILLed at ${replication.master_repl_offset} replication offset with ${replication.connected_slaves} replicas; promoted :${promotedPort} after ${seconds(promotedAt - killedAt)}; ` +
          `APIs ready ${seconds(ready)}, first batch ${seconds(firstBatch)} after the promotion`,
        `${counted.acknowledged} admissions acknowledged (202) before the promotion: ${counted.survivedInRedis} on the promoted replica, ${counted.survivedAsWallet} only as a wallet, LOST ${counted.lost.size}` +
          (durability === 'replica' ? `; replica confirmations published before the kill: ${markersBeforeKill}` : ''),
        `the promoted replica vs Postgres at the kill: ${describeRewind(picture, truthAtKill)}; healed: ${describeHeals(codes, heals)}`,
      );
      return {
        observation,
        silentWinners: wallets.silentWinners,
        rules: { unavailableExpected: true, rewound: { lost: counted.lost } },
        faultEndedAt: promotedAt,
        recover: { ms: recoverMs, what: 'primary killed → replica promoted, APIs ready, healed and a batch decided' },
        violations,
        inherent: counted.lost.size && durability === 'async' ? [`${counted.lost.size} acknowledged admissions (202) lost with the primary (asynchronous replication)`] : [],
        notes,
        details: {
          durability,
          failoverMs,
          apiReadyMs: ready,
          firstBatchMs: firstBatch,
          acknowledged: counted.acknowledged,
          survivedInRedis: counted.survivedInRedis,
          survivedAsWallet: counted.survivedAsWallet,
          lostAdmissions: counted.lost.size,
          replicaConfirmationsBeforeKill: markersBeforeKill,
          replicaConfirmations: markers,
          postgresAtKill: truthAtKill,
          promoted: picture,
          heals,
        },
      };
    },
  };
}

export const sentinelFailoverAsync = sentinelFailover('async');
export const sentinelFailoverDurable = sentinelFailover('replica');
