// `pnpm cluster`'s deployment on one machine, as the harness starts it: N API processes behind
// one port (a round-robin TCP balancer, as a Kubernetes Service is) and M worker processes, all
// against the same Redis and Postgres, each in its own process group (a Ctrl-C in the terminal
// reaches only the cluster, which then stops each replica once, gracefully). What is the cluster's
// own: which replica lines are forwarded (at or above LOG_LEVEL).
import { startServiceCluster, type ClusterService, type ServiceCluster, type ServiceStop } from '@coupons/harness/cluster';

/** pino's numeric levels: a replica's line is forwarded when it is at least the configured level. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** How many of its last output lines a replica keeps (for error messages). */
const KEPT_LINES = 50;

export type ReplicaExit = ServiceStop;

export interface ClusterOptions {
  apis: number;
  workers: number;
  /** The one port the APIs are reached on (0: any free port). */
  port: number;
  /** 'direct' only: the one API's operations port (/metrics, probes); balanced APIs each get a free one. */
  opsPort?: number;
  /** 'balanced': a round-robin TCP balancer on `port` in front of the APIs; 'direct': the one API listens on `port` itself. */
  front?: 'balanced' | 'direct';
  /** The replicas' environment (REDIS_URL, DATABASE_URL, LOG_LEVEL, ...); PORT is set per API. */
  env: NodeJS.ProcessEnv;
  /** Every output line of a replica at or above LOG_LEVEL (and anything that is not a JSON log line). */
  onLine?: (replica: string, line: string) => void;
}

export interface RunningCluster extends Pick<ServiceCluster, 'unexpectedExit' | 'stop'> {
  /** Where the API is: the balancer's port, or the one API's own (0 when the cluster has no API process). */
  port: number;
  replicas: (ClusterService & { pid: number })[];
  /** The port each API process listens on behind the balancer, in replica order. */
  apiPorts: number[];
  /** Each API process's operations port (/metrics, /healthz, /readyz), in the same order. */
  opsPorts: number[];
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
  // The harness reads the replicas' start-up records (info), whatever the user asked to see.
  const replicaLevel = threshold > LEVELS.info! ? 'info' : configured;
  const direct = options.front === 'direct';
  if (direct && options.apis !== 1) throw new Error(`one API process listens on a port directly; ${options.apis} need the balancer`);
  const cluster = await startServiceCluster({
    apis: options.apis,
    workers: options.workers,
    env: { ...options.env, LOG_LEVEL: replicaLevel },
    ...(direct ? { apiEnv: { PORT: String(options.port), OPS_PORT: String(options.opsPort ?? 0) } } : { balancerPort: options.port }),
    detached: true,
    keepLines: KEPT_LINES,
    startupTimeoutMs: Infinity,
    onLine: (name, line) => forwardLevel(line, threshold) && options.onLine?.(name, line),
  });
  return {
    port: direct ? Number(new URL(cluster.apiUrls[0]!).port) : cluster.port,
    replicas: cluster.services.map((service) => ({ ...service, pid: service.process.child.pid! })),
    apiPorts: cluster.apiUrls.map((url) => Number(new URL(url).port)),
    opsPorts: cluster.opsUrls.map((url) => Number(new URL(url).port)),
    unexpectedExit: cluster.unexpectedExit,
    stop: cluster.stop,
    kill: () => void cluster.kill(),
  };
}
