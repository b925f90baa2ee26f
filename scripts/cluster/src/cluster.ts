// The replicas of a deployment on one machine: N API processes behind one port (a round-robin TCP
// balancer, as a Kubernetes Service is) and M worker processes, all against the same Redis and
// Postgres. Each replica is exactly what a pod runs (`node --import tsx services/<kind>/src/main.ts`),
// on an ephemeral port, in its own process group.
import { startReplica, type Replica, type ReplicaExit, type ReplicaKind } from './replica.ts';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer.ts';

/** pino's numeric levels: a replica's line is forwarded when it is at least the configured level. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export interface ClusterOptions {
  apis: number;
  workers: number;
  /** The one port the APIs are reached on (0: any free port). */
  port: number;
  /** The replicas' environment (REDIS_URL, DATABASE_URL, LOG_LEVEL, ...); PORT is set per API. */
  env: NodeJS.ProcessEnv;
  /** Every output line of a replica at or above LOG_LEVEL (and anything that is not a JSON log line). */
  onLine?: (replica: string, line: string) => void;
}

export interface RunningCluster {
  /** The balancer's port: where the API is (0 when the cluster has no API process). */
  port: number;
  replicas: Replica[];
  /** The port each API process listens on behind the balancer, in replica order. */
  apiPorts: number[];
  balancer: TcpBalancer | null;
  /** Resolves when a replica exits before stop() was called. */
  unexpectedExit: Promise<ReplicaExit>;
  /**
   * Stops the balancer accepting, sends SIGTERM to every replica once (each stops gracefully:
   * APIs finish in-flight requests, workers their batch), waits for all of them, releases the port.
   */
  stop(): Promise<ReplicaExit[]>;
  /** SIGKILL to every replica still running (when this process exits abnormally). */
  kill(): void;
}

function forwardLevel(line: string, threshold: number): boolean {
  const level = /^\{"level":(\d+)/.exec(line);
  return !level || Number(level[1]) >= threshold;
}

export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const configured = options.env.LOG_LEVEL?.trim() || 'info';
  const threshold = LEVELS[configured] ?? LEVELS.info!;
  // The cluster reads the replicas' start-up lines (info), whatever the user asked to see.
  const replicaLevel = threshold > LEVELS.info! ? 'info' : configured;
  const replicas: Replica[] = [];
  const spawnReplica = (kind: ReplicaKind, index: number) => {
    const name = `${kind}-${index}`;
    const env = { ...options.env, LOG_LEVEL: replicaLevel, ...(kind === 'api' ? { PORT: '0' } : {}) };
    replicas.push(startReplica(name, kind, env, (line) => forwardLevel(line, threshold) && options.onLine?.(name, line)));
  };
  for (let i = 1; i <= options.apis; i++) spawnReplica('api', i);
  for (let i = 1; i <= options.workers; i++) spawnReplica('worker', i);

  let stopping = false;
  const kill = () => replicas.forEach((replica) => replica.signal('SIGKILL'));
  const stopReplicas = async () => {
    stopping = true;
    replicas.forEach((replica) => replica.signal('SIGTERM'));
    return Promise.all(replicas.map((replica) => replica.exited));
  };

  let apiPorts: number[];
  let balancer: TcpBalancer | null = null;
  try {
    const ready = await Promise.all(replicas.map((replica) => replica.ready()));
    apiPorts = ready.slice(0, options.apis).map(Number);
    if (apiPorts.length) balancer = await startTcpBalancer(apiPorts.map((port) => ({ host: '127.0.0.1', port })), options.port);
  } catch (error) {
    await stopReplicas();
    throw error;
  }

  const unexpectedExit = new Promise<ReplicaExit>((resolve) => {
    for (const replica of replicas) replica.exited.then((exit) => !stopping && resolve(exit));
  });
  let stopped: Promise<ReplicaExit[]> | null = null;
  return {
    port: balancer?.port ?? 0,
    replicas,
    apiPorts,
    balancer,
    unexpectedExit,
    stop: () =>
      (stopped ??= (async () => {
        balancer?.stopAccepting();
        const exits = await stopReplicas();
        await balancer?.close();
        return exits;
      })()),
    kill,
  };
}
