// 11. Redis Cluster failover: six private redis-server nodes, three primaries and a replica of
// each (startRedisCluster); every service connects with REDIS_CLUSTER_NODES (ioredis Cluster).
// The scenario's coupons are chosen so their hash tags spread over all three primaries; the
// primary serving the one with the most room is SIGKILLed mid-burst and its replica promoted by the cluster
// itself (cluster-node-timeout). Clients follow MOVED/ASK; while the slots move, CLUSTERDOWN and
// TRYAGAIN must be answered 503 with Retry-After, never 500. Replication is asynchronous: the
// promoted replica may lack the last admissions, a Redis gone back in time for those coupons,
// healed from Postgres as after a snapshot (8) or a Sentinel failover (9); the acknowledged
// admissions it lost are counted (FaultRules.rewound), every other ticket must end final.
// With ADMISSION_DURABILITY=replica (a 202 only after WAIT 1 on the key's primary), none may be lost.
import { createRedis, redisTarget } from '@coupons/shared/runtime';
import { registerCommands, ticketKey } from '@coupons/shared/redis';
import { startRedisCluster, waitFor, type RedisClusterTopology, type RedisServer } from '@coupons/shared/testing';
import { countLostAdmissions } from '@coupons/harness/verify';
import type { RecordedRequest } from '@coupons/harness/load';
import type { ChaosCluster, CouponSpec } from '../cluster.ts';
import type { Scenario, Sizes } from '../scenario.ts';
import { answeredShare, startBurst } from '../traffic.ts';
import { apisReadyAfter, explainWallets, finishBurst, firstBatchAfter, idleWhenDone, seconds } from './common.ts';
import { acknowledgedBefore, describeHeals, describeRewind, failoverRecoveryMs, healsAfter, postgresHighWater, type RedisPicture } from './rewind.ts';

const SLOW_BATCHES = { BATCH_SIZE: '5', FAULT_DELAY_BEFORE_COMMIT_MS: '150' };

/** A connection that follows the cluster as the services do (MOVED, failover), for the scenario's own reads. */
type ClusterClient = ReturnType<typeof createRedis>;

/** The cluster slot of a coupon's keys: its `{CODE}` hash tag, as the node computes it. */
async function couponSlot(node: RedisServer, code: string): Promise<number> {
  return Number(await node.call('CLUSTER', 'KEYSLOT', `{${code}}`));
}

/**
 * Waits until a live node other than `victim` serves `slot` and every live node reports
 * cluster_state:ok. (The topology's own waitForPromotion trusts the replica set it read right
 * after the create, when a node's view may still list the replicas-to-be as slotless primaries.)
 */
async function waitForNewPrimary(topology: RedisClusterTopology, slot: number, victim: RedisServer, timeoutMs: number): Promise<RedisServer> {
  const promoted = await waitFor(
    async () => {
      const owner = await topology.primaryOfSlot(slot).catch(() => undefined);
      return owner && owner !== victim && owner.running ? owner : undefined;
    },
    { timeoutMs, intervalMs: 100, message: `another node to serve slot ${slot} after :${victim.port} was killed` },
  );
  await topology.waitUntilOk(timeoutMs);
  return promoted;
}

/**
 * One coupon per primary (codes `${tag}0`, `${tag}1`, … until each of the three has one), with the
 * sizes' limits and demand in turn: every primary serves a coupon the burst asks for.
 */
export async function couponsOverPrimaries(topology: RedisClusterTopology, tag: string, sizes: Sizes): Promise<{ coupons: (CouponSpec & { users: number; primary: number })[] }> {
  // The primaries that serve slots (a node's view right after the create may still list a replica-to-be as a slotless master).
  const primaries = (await topology.roles()).filter((role) => role.role === 'master' && role.slots.length > 0).map((role) => role.node);
  const chosen = new Map<RedisServer, string>();
  for (let i = 0; chosen.size < primaries.length && i < 1_000; i++) {
    const code = `${tag}${i}`;
    const owner = await topology.primaryOfSlot(await couponSlot(primaries[0]!, code));
    if (!chosen.has(owner)) chosen.set(owner, code);
  }
  if (chosen.size < primaries.length) throw new Error(`no coupon codes ${tag}0…${tag}999 land on every one of the ${primaries.length} primaries`);
  const coupons = [...chosen].map(([node, code], i) => {
    const size = sizes.coupons[i % sizes.coupons.length]!;
    return { code, limit: size.limit, users: size.users, primary: node.port };
  });
  return { coupons };
}

/** Which of the acknowledged tickets the cluster holds now (through a cluster client: one pipeline per coupon, one slot each), and its picture of each coupon. */
async function whatClusterHolds(redis: ClusterClient, cluster: ChaosCluster, codes: readonly string[], tickets: readonly Pick<RecordedRequest, 'ticketId' | 'couponCode'>[]) {
  const prefix = cluster.environment.config.REDIS_PREFIX;
  const present = new Set<string>();
  for (const code of codes) {
    const ids = tickets.filter((t) => t.couponCode === code && t.ticketId).map((t) => t.ticketId!);
    for (let start = 0; start < ids.length; start += 500) {
      const chunk = ids.slice(start, start + 500);
      const pipeline = redis.pipeline();
      for (const id of chunk) pipeline.hexists(ticketKey(prefix, code, id), 'user');
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((id, i) => replies[i]?.[1] === 1 && present.add(id));
    }
  }
  const picture: RedisPicture = {};
  for (const code of codes) {
    const keys = cluster.keys(code);
    const [meta, seq, users, pending] = await Promise.all([redis.hgetall(keys.meta), redis.get(keys.seq), redis.hlen(keys.users), redis.zcard(keys.pending)]);
    const num = (v: string | null | undefined) => (v === undefined || v === null ? null : Number(v));
    picture[code] = { issued: num(meta.issued), decidedSeq: num(meta.decidedSeq), seq: num(seq), users, pending };
  }
  return { tickets: present, picture };
}

function clusterFailover(durability: 'async' | 'replica'): Scenario {
  return {
    id: `11-${durability}`,
    number: 11,
    title: `Redis Cluster failover: a primary SIGKILLed mid-burst, its replica promoted (ADMISSION_DURABILITY=${durability})`,
    inQuick: false,
    async run(ctx) {
      const topology = await startRedisCluster({ server: { appendfsync: ctx.appendfsync } });
      ctx.defer(() => topology.close());
      const tag = durability === 'async' ? 'CF' : 'CR';
      const { coupons } = await couponsOverPrimaries(topology, tag, ctx.sizes);
      const demand = [...coupons.map(({ code, users }) => ({ code, users })), ...ctx.sizes.seeded];
      const codes = demand.map((d) => d.code);
      ctx.log(`coupons over the primaries: ${coupons.map((c) => `${c.code} on :${c.primary}`).join(', ')}`);
      const cluster = await ctx.startCluster(topology.nodes[0]!, {
        coupons: coupons.map(({ code, limit }) => ({ code, limit })),
        workers: [SLOW_BATCHES, SLOW_BATCHES],
        env: {
          REDIS_CLUSTER_NODES: topology.nodesEnv,
          ADMISSION_DURABILITY: durability,
          ADMISSION_REPLICA_TIMEOUT_MS: '200',
        },
      });
      const { config } = cluster.environment;
      if (!(config as { REDIS_CLUSTER_NODES?: unknown[] }).REDIS_CLUSTER_NODES?.length) {
        throw new Error('needs cluster mode: this build does not read REDIS_CLUSTER_NODES (issue 14, Redis Cluster support), so the services cannot run on a Redis Cluster');
      }
      // The harness's own reads (drain, heal checks) follow the cluster as the services do.
      const clusterClient = () => {
        const client = createRedis(redisTarget(config), { maxRetriesPerRequest: 20 });
        client.on('error', () => {});
        return client;
      };
      if (!(cluster.environment.redis as { isCluster?: boolean }).isCluster) {
        cluster.environment.redis.disconnect();
        cluster.environment.redis = registerCommands(clusterClient() as never);
      }
      const violations: string[] = [];
      const notes: string[] = [];

      const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate: ctx.sizes.burst.rate / 2 });
      // Early enough that the coupon with the most room is still admitting (at 35 % a 200-coupon line had sold out).
      await answeredShare(load, 0.2);
      // The primary of the coupon with the most room: at 20 % of the burst it is still admitting and deciding.
      const busiest = coupons.reduce((most, c) => (c.limit > most.limit ? c : most));
      const slot = await couponSlot(topology.nodes[0]!, busiest.code);
      const victim = await topology.primaryOfSlot(slot);
      const replication = await victim.info('replication');
      await topology.kill(victim);
      const killedAt = Date.now();
      const truthAtKill = await postgresHighWater(cluster, codes);
      const promoted = await waitForNewPrimary(topology, slot, victim, 60_000);
      const promotedAt = Date.now();
      ctx.log(`primary :${victim.port} (${coupons.filter((c) => c.primary === victim.port).map((c) => c.code).join(', ')}) SIGKILLed; :${promoted.port} promoted, cluster_state:ok after ${seconds(promotedAt - killedAt)}`);
      // Its picture of the coupons as promoted, before anything heals it.
      const reader = clusterClient();
      ctx.defer(async () => reader.disconnect());
      const { picture } = await whatClusterHolds(reader, cluster, codes, []);
      // As Kubernetes restarts the pod: the killed node comes back on its own dir (nodes.conf, AOF) and
      // rejoins as the promoted node's replica, so that shard has a replica again (WAIT 1 needs one).
      const rejoined = (async () => {
        await victim.restart();
        return waitFor(async () => ((await topology.roles()).some((role) => role.node === victim && role.role === 'slave') ? Date.now() - promotedAt : 0), {
          timeoutMs: 60_000,
          intervalMs: 200,
          message: `:${victim.port} back as a replica`,
        }).catch(() => null);
      })();
      const recovery = Promise.all([
        healsAfter(cluster, codes, killedAt, 30_000),
        firstBatchAfter(cluster, promotedAt, {}, 30_000, idleWhenDone(cluster, codes, load.done)),
        apisReadyAfter(cluster, promotedAt),
      ]);
      const observation = await finishBurst(ctx, cluster, load.done, codes);
      const [heals, firstBatch, ready] = await recovery;
      const rejoinedMs = await rejoined;
      if (rejoinedMs === null) notes.push(`the killed node :${victim.port}, restarted, did not rejoin as a replica within 60 s`);
      if (ready === null) violations.push('an API did not report ready within 30 s after the failover');
      const wallets = await explainWallets(cluster, codes, observation);
      notes.push(...wallets.notes);
      // Acknowledged before the promotion, then: in the cluster now, a wallet, or lost.
      const acknowledged = acknowledgedBefore(observation.requests, promotedAt);
      const held = await whatClusterHolds(reader, cluster, codes, acknowledged);
      const counted = countLostAdmissions(acknowledged, held.tickets, observation.walletIds);
      if (durability === 'replica' && counted.lost.size) {
        violations.push(`${counted.lost.size} acknowledged admissions (202) lost in ADMISSION_DURABILITY=replica mode: neither in the cluster after the failover nor a wallet`);
      }
      const failoverMs = promotedAt - killedAt;
      const recoverMs = failoverRecoveryMs(failoverMs, ready, firstBatch, heals);
      const unavailable = observation.requests.filter((r) => r.status === 503).length;
      notes.push(
        `primary :${victim.port} SIGKILLed at replication offset ${replication.master_repl_offset} with ${replication.connected_slaves} replica(s); :${promoted.port} promoted and every node ok after ${seconds(failoverMs)}; ` +
          `APIs ready ${seconds(ready)}, first batch ${seconds(firstBatch)} after; the killed node restarted and back as a replica ${seconds(rejoinedMs)} after; ${unavailable} answers 503 in the run`,
        `${counted.acknowledged} admissions acknowledged (202) before the promotion: ${counted.survivedInRedis} in the cluster after it, ${counted.survivedAsWallet} only as a wallet, LOST ${counted.lost.size}`,
        `the cluster vs Postgres right after the promotion: ${describeRewind(picture, truthAtKill)}; healed: ${describeHeals(codes, heals)}`,
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
          killedPort: victim.port,
          promotedPort: promoted.port,
          rejoinedAsReplicaMs: rejoinedMs,
          coupons,
          failoverMs,
          apiReadyMs: ready,
          firstBatchMs: firstBatch,
          acknowledged: counted.acknowledged,
          survivedInRedis: counted.survivedInRedis,
          survivedAsWallet: counted.survivedAsWallet,
          lostAdmissions: counted.lost.size,
          postgresAtKill: truthAtKill,
          promoted: picture,
          heals,
        },
      };
    },
  };
}

export const clusterFailoverAsync = clusterFailover('async');
export const clusterFailoverDurable = clusterFailover('replica');
