// N API processes (optionally behind one port, as a Kubernetes Service puts them) and M worker
// processes, all against the same Redis and Postgres, each exactly what a pod runs. Every tool
// that needs more than one service process starts them here: `pnpm start`, `pnpm cluster`, the
// burst, bench and chaos clusters and the process tests.
import { apiReady, spawnService, workerReady, type ServiceExit, type ServiceKind, type ServiceProcess } from '../processes/index.ts';
import { startTcpBalancer, type TcpBalancer } from './tcp-balancer.ts';

export interface ClusterService {
  /** api-1, api-2, ..., worker-1, ... */
  name: string;
  kind: ServiceKind;
  process: ServiceProcess;
}

export interface ServiceStop extends ServiceExit {
  name: string;
}

export interface ClusterOptions {
  apis: number;
  /** A number of workers, or one entry per worker: that worker's extra variables. */
  workers: number | readonly Record<string, string>[];
  /** Variables of every process (REDIS_URL, DATABASE_URL, LOG_LEVEL, ...). */
  env: NodeJS.ProcessEnv;
  /** Variables of the API processes only; PORT and OPS_PORT default to 0 (ephemeral ports each). */
  apiEnv?: NodeJS.ProcessEnv;
  /** Variables of the worker processes only. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Put a round-robin TCP balancer on this port (0: any free one) in front of the APIs. */
  balancerPort?: number;
  /** Each process in its own process group, so a Ctrl-C in the terminal reaches only the parent. */
  detached?: boolean;
  /** 'inherit': the processes write straight to this terminal. */
  output?: 'capture' | 'inherit';
  /** Keep only each process's last lines (a long-running cluster). */
  keepLines?: number;
  onLine?: (service: string, line: string) => void;
  /** How long start-up may take (default 60 s; Infinity: until a process exits). */
  startupTimeoutMs?: number;
  /** stop(): SIGKILL what is still running this long after SIGTERM (default: wait for it). */
  stopGraceMs?: number;
}

export interface ServiceCluster {
  services: ClusterService[];
  /** Each API process's own base URL, in start order. */
  apiUrls: string[];
  /** Each API process's operations listener (/metrics, /healthz, /readyz), in the same order. */
  opsUrls: string[];
  /** The balancer's port, 0 without one. */
  port: number;
  balancer: TcpBalancer | null;
  /** Workers that have not exited (stopped ones included). */
  liveWorkers(): ClusterService[];
  /** Starts more workers (named after the last one) and waits until they consume the queue. */
  addWorkers(count: number, extraEnv?: Record<string, string>): Promise<ClusterService[]>;
  /** Resolves when a process exits before stop() or kill() was called. */
  unexpectedExit: Promise<ServiceStop>;
  /**
   * Graceful: the balancer stops accepting, every process gets SIGTERM once (APIs finish in-flight
   * requests, workers their batch), and it resolves with their exits once all have exited.
   */
  stop(): Promise<ServiceStop[]>;
  /** SIGCONT (a stopped process cannot die) and SIGKILL to every process; the signals go out at once. */
  kill(): Promise<void>;
}

const running = (service: ClusterService) => service.process.running();

export async function startServiceCluster(options: ClusterOptions): Promise<ServiceCluster> {
  const timeoutMs = options.startupTimeoutMs ?? 60_000;
  const services: ClusterService[] = [];
  const counts: Record<ServiceKind, number> = { api: 0, worker: 0 };
  let ending = false;
  let reportExit: (exit: ServiceStop) => void = () => {};
  const unexpectedExit = new Promise<ServiceStop>((resolve) => (reportExit = resolve));

  const spawn = (kind: ServiceKind, extraEnv: Record<string, string> = {}): ClusterService => {
    const name = `${kind}-${++counts[kind]}`;
    const env = { ...options.env, ...(kind === 'api' ? { PORT: '0', OPS_PORT: '0', ...options.apiEnv } : options.workerEnv), ...extraEnv };
    const process = spawnService(kind, env, {
      name,
      detached: options.detached ?? false,
      output: options.output ?? 'capture',
      ...(options.keepLines !== undefined && { keepLines: options.keepLines }),
      ...(options.onLine && { onLine: (line: string) => options.onLine!(name, line) }),
    });
    const service: ClusterService = { name, kind, process };
    void process.exit.then((exit) => !ending && reportExit({ name, ...exit }));
    services.push(service);
    return service;
  };

  let balancer: TcpBalancer | null = null;
  let stopped: Promise<ServiceStop[]> | null = null;
  const cluster: ServiceCluster = {
    services,
    apiUrls: [],
    opsUrls: [],
    port: 0,
    balancer: null,
    liveWorkers: () => services.filter((s) => s.kind === 'worker' && running(s)),
    async addWorkers(count, extraEnv = {}) {
      const started = Array.from({ length: count }, () => spawn('worker', extraEnv));
      await Promise.all(started.map((s) => workerReady(s.process, timeoutMs)));
      return started;
    },
    unexpectedExit,
    stop: () =>
      (stopped ??= (async () => {
        ending = true;
        balancer?.stopAccepting();
        const exits = await Promise.all(
          services.map(async ({ name, process }) => {
            process.signal('SIGTERM');
            const timer = options.stopGraceMs === undefined ? undefined : setTimeout(() => void process.kill(), options.stopGraceMs);
            const exit = await process.exit;
            clearTimeout(timer);
            return { name, ...exit };
          }),
        );
        await balancer?.close();
        return exits;
      })()),
    async kill() {
      ending = true;
      for (const { process } of services) process.signal('SIGCONT');
      await Promise.all(services.map(({ process }) => process.kill()));
      await balancer?.close();
    },
  };

  try {
    const apis = Array.from({ length: options.apis }, () => spawn('api'));
    const workers = typeof options.workers === 'number' ? Array.from({ length: options.workers }, () => spawn('worker')) : options.workers.map((env) => spawn('worker', env));
    const [urls] = await Promise.all([
      Promise.all(apis.map((s) => apiReady(s.process, timeoutMs))),
      Promise.all(workers.map((s) => workerReady(s.process, timeoutMs))),
    ]);
    cluster.apiUrls = urls.map((url) => url.baseUrl);
    cluster.opsUrls = urls.map((url) => url.opsUrl);
    if (options.balancerPort !== undefined && apis.length > 0) {
      balancer = await startTcpBalancer(cluster.apiUrls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })), options.balancerPort);
      cluster.balancer = balancer;
      cluster.port = balancer.port;
    }
    return cluster;
  } catch (error) {
    await cluster.kill();
    throw error;
  }
}
