// One replica process, started by the harness exactly as `pnpm start:api` / `start:worker` (and a
// pod) run it, in its own process group so that a Ctrl-C in the terminal reaches only the cluster,
// which then stops each replica once, gracefully.
import { apiReady, spawnService, workerReady, type ServiceKind, type ServiceProcess } from '@coupons/harness/processes';

export type ReplicaKind = ServiceKind;

/** How many of its last output lines a replica keeps (for error messages). */
const KEPT_LINES = 50;

export interface ReplicaExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Replica {
  name: string;
  kind: ReplicaKind;
  pid: number;
  process: ServiceProcess;
  /** Its last output lines (stdout and stderr). */
  lastLines(): string[];
  /** Resolves when it is ready (an API: with the port it listens on); rejects if it exits first. */
  ready(): Promise<number | undefined>;
  exited: Promise<ReplicaExit>;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
}

export function startReplica(name: string, kind: ReplicaKind, env: NodeJS.ProcessEnv, onLine: (line: string) => void): Replica {
  const service = spawnService(kind, env, { name, detached: true, keepLines: KEPT_LINES, onLine });
  return {
    name,
    kind,
    pid: service.child.pid!,
    process: service,
    lastLines: () => service.lastLines(),
    ready: async () => (kind === 'api' ? Number(new URL(await apiReady(service, Infinity)).port) : workerReady(service, Infinity).then(() => undefined)),
    exited: service.exit.then(({ code, signal }) => ({ name, code, signal })),
    running: service.running,
    signal: service.signal,
  };
}
