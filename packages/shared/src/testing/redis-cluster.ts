import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, requireRedisCli } from '@coupons/local-servers';
import { startRedisServer, withClient, type RedisServer, type RedisServerOptions } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/**
 * A private Redis Cluster for tests: three primaries and a replica of each by default, every node
 * a `startRedisServer` (AOF on) with cluster mode, its own data port, cluster-bus port and temp dir,
 * joined by the real tool (`redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`).
 * Never the shared Redis on 6379. Stopped by pid in `close()`.
 */
export interface RedisClusterTopology {
  /** Every node, in start order (which ones are primaries changes with a failover: see `roles`). */
  nodes: RedisServer[];
  /** `127.0.0.1:p,…` for REDIS_CLUSTER_NODES. */
  nodesEnv: string;
  /** Each live node's role as the cluster sees it now, with the slots a primary serves. */
  roles(): Promise<ClusterNodeRole[]>;
  /** The live primary serving `slot`. */
  primaryOfSlot(slot: number): Promise<RedisServer>;
  /** SIGKILLs a node (by pid), without telling the cluster. */
  kill(node: RedisServer): Promise<void>;
  /**
   * Waits until a live node other than `oldPrimary` serves every slot `oldPrimary` served, and every
   * live node reports cluster_state:ok; resolves with the promoted node.
   */
  waitForPromotion(oldPrimary: RedisServer, timeoutMs?: number): Promise<RedisServer>;
  /** Waits until every live node reports cluster_state:ok and knows all slots. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes every temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface ClusterNodeRole {
  node: RedisServer;
  id: string;
  role: 'master' | 'slave';
  /** A replica's primary (its node id); undefined for a primary. */
  masterId?: string;
  /** Slot ranges a primary serves, inclusive ([] for a replica). */
  slots: [number, number][];
}

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /**
   * cluster-node-timeout: how long a silent primary takes to be failed over (default 3000 ms: a
   * node starved of CPU by a loaded machine must not be failed over by mistake).
   */
  nodeTimeoutMs?: number;
  /** Passed to every node (appendfsync, extra args). */
  server?: RedisServerOptions;
  timeoutMs?: number;
}

/** One CLUSTER NODES line: id, address, flags, master, ping, pong, epoch, link, slots… */
function parseClusterNodes(text: string): { id: string; port: number; flags: string[]; masterId?: string; slots: [number, number][] }[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.split(' ');
      return {
        id: id!,
        ...(master && master !== '-' ? { masterId: master } : {}),
        port: Number(/:(\d+)@/.exec(address!)?.[1]),
        flags: flags!.split(','),
        slots: slots
          .filter((slot) => !slot.startsWith('['))
          .map((slot) => {
            const [from, to] = slot.split('-').map(Number);
            return [from!, to ?? from!] as [number, number];
          }),
      };
    });
}

async function clusterInfo(node: RedisServer): Promise<Record<string, string>> {
  const text = (await withClient(node.port, (redis) => redis.cluster('INFO'))) as string;
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => line.split(':') as [string, string]),
  );
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterTopology> {
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nodes: RedisServer[] = [];

  const live = () => nodes.filter((node) => node.running);
  const byPort = (port: number) => nodes.find((node) => node.port === port);

  const topology: RedisClusterTopology = {
    nodes,
    get nodesEnv() {
      return nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
    },
    async roles() {
      // Ask any live node; every node's view converges, and a test waits for that first.
      const text = (await withClient(live()[0]!.port, (redis) => redis.cluster('NODES'))) as string;
      return parseClusterNodes(text)
        .filter((entry) => !entry.flags.includes('fail') && !entry.flags.includes('fail?') && byPort(entry.port)?.running)
        .map((entry) => ({ node: byPort(entry.port)!, id: entry.id, role: entry.flags.includes('master') ? 'master' : 'slave', ...(entry.masterId ? { masterId: entry.masterId } : {}), slots: entry.slots }));
    },
    async primaryOfSlot(slot) {
      const owner = (await topology.roles()).find((role) => role.role === 'master' && role.slots.some(([from, to]) => slot >= from && slot <= to));
      if (!owner) throw new Error(`no live primary serves slot ${slot}`);
      return owner.node;
    },
    async kill(node) {
      await node.stop('SIGKILL');
    },
    async waitUntilOk(waitMs = timeoutMs) {
      await waitFor(
        async () => {
          for (const node of live()) {
            const info = await clusterInfo(node);
            if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== '16384') return false;
          }
          return true;
        },
        { timeoutMs: waitMs, intervalMs: 100, message: 'every live cluster node to report cluster_state:ok' },
      );
    },
    async waitForPromotion(oldPrimary, waitMs = timeoutMs) {
      const promoted = await waitFor(
        async () => {
          for (const node of live()) {
            const text = (await withClient(node.port, (redis) => redis.cluster('NODES'))) as string;
            const me = parseClusterNodes(text).find((entry) => entry.flags.includes('myself'));
            if (me?.flags.includes('master') && me.slots.length > 0 && node !== oldPrimary && formedReplicas.has(node)) return node;
          }
          return undefined;
        },
        { timeoutMs: waitMs, intervalMs: 100, message: `a replica of the node on port ${oldPrimary.port} to be promoted` },
      );
      await topology.waitUntilOk(waitMs);
      return promoted;
    },
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };

  // Which nodes were replicas when the cluster formed: a promotion turns one of them into a primary.
  let formedReplicas = new Set<RedisServer>();

  try {
    for (let i = 0; i < primaries * (1 + replicasPerPrimary); i++) {
      // Redis 7's cluster-port: the bus on a free port of its own (port + 10000 may be above 65535).
      const busPort = await freePort();
      nodes.push(
        await startRedisServer({
          ...options.server,
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(nodeTimeoutMs),
            '--cluster-port', String(busPort),
            // A replica (a new one, or a killed primary back as one) syncs at once, not after 5 s.
            '--repl-diskless-sync-delay', '0',
            ...(options.server?.extraArgs ?? []),
          ],
        }),
      );
    }
    const cli = requireRedisCli();
    await run(cli.path, ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicasPerPrimary), '--cluster-yes'], {
      env: { ...process.env, ...cli.env },
      timeout: timeoutMs,
    });
    await topology.waitUntilOk();
    // Every node must also see every other before the cluster is handed over (redis-cli only waits for slots).
    await waitFor(async () => (await Promise.all(nodes.map(clusterInfo))).every((info) => Number(info.cluster_known_nodes) === nodes.length), {
      timeoutMs,
      intervalMs: 100,
      message: 'every node to know every other',
    });
    // Which nodes are replicas, once the node asked has heard of every CLUSTER REPLICATE (gossip: a
    // replica is briefly seen as a primary without slots, and one missed here could never count as promoted).
    const replicas = await waitFor(
      async () => {
        const found = (await topology.roles()).filter((role) => role.role === 'slave').map((role) => role.node);
        return found.length === primaries * replicasPerPrimary ? found : undefined;
      },
      { timeoutMs, intervalMs: 100, message: `all ${primaries * replicasPerPrimary} replicas to be seen as replicas` },
    );
    formedReplicas = new Set(replicas);
    // A replica that has not finished its first sync cannot be promoted (its data age is unbounded),
    // and a WAIT finds no replica: hand the cluster over only once every replica is in sync.
    await waitFor(async () => (await Promise.all([...formedReplicas].map((node) => node.info('replication')))).every((info) => info.master_link_status === 'up'), {
      timeoutMs,
      intervalMs: 100,
      message: 'every replica to finish its first sync with its primary',
    });
    return topology;
  } catch (error) {
    await topology.close();
    throw error;
  }
}
