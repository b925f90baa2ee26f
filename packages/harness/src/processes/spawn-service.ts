// One real API or worker process, started exactly as `pnpm start:api` / `start:worker` start it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { waitFor } from '@coupons/shared/testing';
import { REPO_ROOT, SERVICE_ENTRY, type ServiceKind } from './entry-points.ts';

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** How errors name the process (default: its kind). */
  name?: string;
  /** Its own process group, so that a Ctrl-C in the terminal reaches only the parent. */
  detached?: boolean;
  /** 'inherit': the output goes straight to this terminal and is not captured (output() stays empty). */
  output?: 'capture' | 'inherit';
  /** Keep only the last `keepLines` lines (a long-running cluster); default: everything. */
  keepLines?: number;
  /** Every output line (stdout and stderr), as it arrives. */
  onLine?: (line: string) => void;
}

/** A real API or worker process. */
export interface ServiceProcess {
  kind: ServiceKind;
  name: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr), or its last `keepLines` lines. */
  output(): string;
  lastLines(count?: number): string[];
  /** Resolves when a line matching `pattern` has been printed. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /**
   * Resolves with the first value `match` returns for a line (already printed or to come);
   * rejects with its last lines if the process exits first, or after `timeoutMs`.
   */
  waitForLine<T>(match: (line: string) => T | undefined, options?: { timeoutMs?: number; waitingFor?: string }): Promise<T>;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string>;
  exit: Promise<ServiceExit>;
  /** SIGKILL if still running, and wait for the exit. */
  kill(): Promise<void>;
}

export function spawnService(kind: ServiceKind, env: NodeJS.ProcessEnv, options: SpawnOptions = {}): ServiceProcess {
  const name = options.name ?? kind;
  const inherit = options.output === 'inherit';
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE_ENTRY[kind]], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  if (!inherit) {
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        lines.push(line);
        if (options.keepLines !== undefined && lines.length > options.keepLines) lines.shift();
        for (const watcher of watchers) watcher(line);
        options.onLine?.(line);
      });
    }
  }
  // 'close', not 'exit': it comes once the output pipes are drained too, so a process's last lines
  // (its "stopped" record) have been seen by the time it counts as exited.
  const exit = once(child, inherit ? 'exit' : 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const exited = exit.then(({ code, signal }) => (code ?? signal) as number | string);
  const running = () => child.exitCode === null && child.signalCode === null;
  const output = () => (lines.length ? `${lines.join('\n')}\n` : '');
  return {
    kind,
    name,
    child,
    output,
    lastLines: (count = lines.length) => lines.slice(-count),
    waitForOutput: (pattern, timeoutMs = 20_000) =>
      waitFor(() => pattern.test(output()), { timeoutMs, message: `${name} output ${pattern} (output so far: ${output().slice(-500)})` }).then(() => {}),
    waitForLine<T>(match: (line: string) => T | undefined, { timeoutMs = 20_000, waitingFor = 'its ready line' } = {}) {
      return new Promise<T>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const settle = (done: () => void) => {
          watchers.delete(watcher);
          clearTimeout(timer);
          done();
        };
        const watcher = (line: string) => {
          const value = match(line);
          if (value !== undefined) settle(() => resolve(value));
        };
        for (const line of lines) {
          const value = match(line);
          if (value !== undefined) return resolve(value);
        }
        watchers.add(watcher);
        if (Number.isFinite(timeoutMs)) {
          timer = setTimeout(() => settle(() => reject(new Error(`${name}: no ${waitingFor} within ${timeoutMs} ms: ${lines.slice(-3).join(' | ')}`))), timeoutMs);
        }
        exit.then(({ code, signal }) => {
          if (watchers.has(watcher)) settle(() => reject(new Error(`${name} exited (${signal ?? code}) while starting: ${lines.slice(-3).join(' | ')}`)));
        });
      });
    },
    running,
    signal: (signal) => {
      if (running()) child.kill(signal);
    },
    exited,
    exit,
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}
