import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ENTRY = {
  api: 'services/api/src/main.ts',
  worker: 'services/worker/src/main.ts',
} as const;

/** A real API or worker process, as `pnpm start:api` / `start:worker` would run it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when a line matching `pattern` has been printed. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<number | string>;
  /** SIGKILL if still running, and wait for the exit. */
  kill(): Promise<void>;
}

export function spawnService(kind: keyof typeof ENTRY, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY[kind]], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 20_000) =>
      waitFor(() => pattern.test(output), { timeoutMs, message: `${kind} output ${pattern} (output so far: ${output.slice(-500)})` }).then(() => {}),
    signal: (signal) => child.kill(signal),
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
