// One replica process: `services/api/src/main.ts` or `services/worker/src/main.ts` run as
// `pnpm start:api` / `start:worker` run them (`node --import tsx <entry>`), in its own process
// group so that a Ctrl-C in the terminal reaches only the cluster, which then stops each replica
// once, gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const REPLICA_ENTRY = {
  api: 'services/api/src/main.ts',
  worker: 'services/worker/src/main.ts',
} as const;
export type ReplicaKind = keyof typeof REPLICA_ENTRY;

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
  child: ChildProcess;
  /** Its last output lines (stdout and stderr). */
  lastLines(): string[];
  /** Resolves with the first captured group of the first line matching `pattern`; rejects if it exits first. */
  waitForLine(pattern: RegExp): Promise<string>;
  exited: Promise<ReplicaExit>;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
}

export function startReplica(name: string, kind: ReplicaKind, env: NodeJS.ProcessEnv, onLine: (line: string) => void): Replica {
  const child = spawn(process.execPath, ['--import', 'tsx', REPLICA_ENTRY[kind]], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const kept: string[] = [];
  const watchers = new Set<(line: string) => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      kept.push(line);
      if (kept.length > KEPT_LINES) kept.shift();
      for (const watcher of watchers) watcher(line);
      onLine(line);
    });
  }
  const exited = once(child, 'exit').then(([code, signal]) => ({ name, code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    kind,
    pid: child.pid!,
    child,
    lastLines: () => [...kept],
    waitForLine(pattern) {
      return new Promise((resolve, reject) => {
        const watcher = (line: string) => {
          const match = pattern.exec(line);
          if (!match) return;
          watchers.delete(watcher);
          resolve(match[1] ?? match[0]);
        };
        watchers.add(watcher);
        exited.then(({ code, signal }) => {
          if (!watchers.has(watcher)) return;
          watchers.delete(watcher);
          reject(new Error(`${name} exited (${signal ?? code}) while starting: ${kept.slice(-3).join(' | ')}`));
        });
      });
    },
    exited,
    running,
    signal(signal) {
      if (running()) child.kill(signal);
    },
  };
}
