import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersPing, freePort, spawnRedisServer } from '@coupons/local-servers';
import { startRedisServer, withClient, type RedisServer, type RedisServerOptions } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

/**
 * A private Redis Sentinel deployment for failover tests: one primary and one replica, or more
 * (each a `startRedisServer`, AOF on) and three sentinels (`redis-server <conf> --sentinel`, quorum 2),
 * every process on its own free port with its own temp dir. Never the shared Redis on 6379.
 */
export interface SentinelTopology {
  /** The name the sentinels monitor (REDIS_SENTINEL_NAME). */
  name: string;
  /** The sentinels' ports, and the same as REDIS_SENTINELS (`127.0.0.1:p,…`). */
  sentinelPorts: number[];
  sentinelsEnv: string;
  /** The two data nodes; which one is the primary changes with a failover. */
  servers: RedisServer[];
  /** The server the topology last saw as primary (the sentinels' view, see waitForFailover). */
  readonly primary: RedisServer;
  /** The (first) other one. */
  readonly replica: RedisServer;
  /** SIGKILLs the current primary (by pid), without telling anyone. Returns it. */
  killPrimary(): Promise<RedisServer>;
  /**
   * Waits until every live sentinel names a new primary (not `previousPort`, default the primary
   * before the last killPrimary) and that server answers as a master; resolves with its port.
   */
  waitForFailover(previousPort?: number, timeoutMs?: number): Promise<number>;
  /** Every sentinel's current answer to get-master-addr-by-name (port, or null). */
  sentinelsView(): Promise<(number | null)[]>;
  /** The sentinels' logs' ends (for reports when something went wrong). */
  logTail(lines?: number): Promise<string>;
  /** Kills every process (sentinels and servers, by pid) and removes every temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface SentinelTopologyOptions {
  name?: string;
  /** Sentinel down-after-milliseconds (default 1000). */
  downAfterMs?: number;
  /** Sentinel failover-timeout (default 3000). */
  failoverTimeoutMs?: number;
  /** Passed to every data node (e.g. appendfsync). */
  server?: RedisServerOptions;
  /** Replicas (default 1). With 2, the one left is re-pointed at the promoted one, so there is a replica after a failover too. */
  replicas?: number;
  /**
   * The port the replicas replicate from, given the primary's (default: the primary's own). A
   * test puts a TCP proxy there to partition the replication link.
   */
  replicationPort?: (primaryPort: number) => Promise<number>;
  timeoutMs?: number;
}

interface SentinelProcess {
  port: number;
  dir: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function startSentinel(name: string, primaryPort: number, options: Required<Pick<SentinelTopologyOptions, 'downAfterMs' | 'failoverTimeoutMs'>>): Promise<SentinelProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-sentinel-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The sentinel rewrites this file (it records what it learns), so it lives in the temp dir.
    await writeFile(
      join(dir, 'sentinel.conf'),
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        'logfile sentinel.log',
        `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawnRedisServer([join(dir, 'sentinel.conf'), '--sentinel']);
    const exited = once(child, 'exit');
    try {
      await waitFor(async () => !alive(child) || (await answersPing('127.0.0.1', port)), {
        timeoutMs: 10_000,
        intervalMs: 25,
        message: `sentinel on port ${port}`,
      });
      if (!alive(child)) throw new Error(`sentinel on port ${port} exited at start`);
      return { port, dir, child, exited };
    } catch (error) {
      if (alive(child)) child.kill('SIGKILL');
      await exited;
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

export async function startSentinelTopology(options: SentinelTopologyOptions = {}): Promise<SentinelTopology> {
  const name = options.name ?? 'mymaster';
  const timeoutMs = options.timeoutMs ?? 20_000;
  const settings = { downAfterMs: options.downAfterMs ?? 1_000, failoverTimeoutMs: options.failoverTimeoutMs ?? 3_000 };
  const sentinels: SentinelProcess[] = [];
  const servers: RedisServer[] = [];
  let primaryIndex = 0;
  let killedPort: number | undefined;

  const masterPortOf = (port: number) =>
    withClient(port, (redis) => redis.call('SENTINEL', 'get-master-addr-by-name', name) as Promise<[string, string] | null>).then(
      (reply) => (reply ? Number(reply[1]) : null),
      () => null,
    );
  const sentinelsView = () => Promise.all(sentinels.map((sentinel) => (alive(sentinel.child) ? masterPortOf(sentinel.port) : Promise.resolve(null))));

  const topology: SentinelTopology = {
    name,
    get sentinelPorts() {
      return sentinels.map((sentinel) => sentinel.port);
    },
    get sentinelsEnv() {
      return sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
    },
    servers,
    get primary() {
      return servers[primaryIndex]!;
    },
    get replica() {
      return servers.find((_, i) => i !== primaryIndex)!;
    },
    async killPrimary() {
      const primary = topology.primary;
      killedPort = primary.port;
      await primary.stop('SIGKILL');
      return primary;
    },
    async waitForFailover(previousPort = killedPort ?? topology.primary.port, waitMs = timeoutMs) {
      let view: (number | null)[] = [];
      const port = await waitFor(
        async () => {
          view = await sentinelsView();
          const live = view.filter((candidate, i) => alive(sentinels[i]!.child));
          const chosen = live[0];
          if (!chosen || chosen === previousPort || live.some((candidate) => candidate !== chosen)) return null;
          const role = await withClient(chosen, (redis) => redis.call('ROLE') as Promise<[string]>).then((reply) => reply[0], () => null);
          return role === 'master' ? chosen : null;
        },
        { timeoutMs: waitMs, intervalMs: 50, message: `the sentinels to promote a primary other than port ${previousPort} (view: ${JSON.stringify(view)})` },
      );
      primaryIndex = servers.findIndex((server) => server.port === port);
      return port;
    },
    sentinelsView,
    async logTail(lines = 20) {
      const tails = await Promise.all(
        sentinels.map(async (sentinel) => {
          const log = await readFile(join(sentinel.dir, 'sentinel.log'), 'utf8').catch(() => '');
          return `--- sentinel ${sentinel.port}\n${log.split('\n').slice(-lines - 1).join('\n')}`;
        }),
      );
      return tails.join('\n');
    },
    async close() {
      for (const sentinel of sentinels) if (alive(sentinel.child)) sentinel.child.kill('SIGKILL');
      await Promise.all(sentinels.map((sentinel) => sentinel.exited));
      await Promise.all(sentinels.map((sentinel) => rm(sentinel.dir, { recursive: true, force: true })));
      await Promise.all(servers.map((server) => server.close()));
    },
  };

  try {
    const primary = await startRedisServer(options.server);
    servers.push(primary);
    const replicaCount = options.replicas ?? 1;
    const upstream = options.replicationPort ? await options.replicationPort(primary.port) : primary.port;
    for (let i = 0; i < replicaCount; i++) {
      servers.push(await startRedisServer({ ...options.server, extraArgs: [...(options.server?.extraArgs ?? []), '--replicaof', '127.0.0.1', String(upstream)] }));
    }
    // The replicas are in sync: their links are up and they have the primary's offset.
    await waitFor(
      async () => {
        const primaryInfo = await primary.info('replication');
        const offset = Number(primaryInfo.master_repl_offset);
        if (primaryInfo.connected_slaves !== String(replicaCount)) return false;
        const replicaInfos = await Promise.all(servers.slice(1).map((replica) => replica.info('replication')));
        return replicaInfos.every((info) => info.master_link_status === 'up' && Number(info.slave_repl_offset) >= offset);
      },
      { timeoutMs, intervalMs: 25, message: 'the replicas to be in sync with the primary' },
    );
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(name, primary.port, settings));
    // The sentinels agree on the primary, see the replica, and know each other (a failover needs a majority).
    await waitFor(
      async () => {
        const states = await Promise.all(
          sentinels.map((sentinel) =>
            withClient(sentinel.port, async (redis) => {
              const master = (await redis.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
              const replicas = (await redis.call('SENTINEL', 'replicas', name)) as string[][];
              const peers = (await redis.call('SENTINEL', 'sentinels', name)) as string[][];
              const flags = replicas.map((fields) => fields[fields.indexOf('flags') + 1] ?? '');
              return Number(master?.[1]) === primary.port && flags.length === replicaCount && flags.every((flag) => flag === 'slave') && peers.length === 2;
            }).catch(() => false),
          ),
        );
        return states.every(Boolean);
      },
      { timeoutMs, intervalMs: 100, message: 'the three sentinels to agree on the primary, see the replicas and each other' },
    );
    return topology;
  } catch (error) {
    await topology.close();
    throw error;
  }
}

