// The reference processes (bare express echo, seed baseline, raw BullMQ worker) run as child
// processes like the services do, so the load generator never shares their event loop.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@coupons/shared/testing';
import { READY_LINE } from './servers/issue-app.ts';
import type { Teardown } from '@coupons/harness/cli';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY = new RegExp(`${READY_LINE} (\\d+)`);
const STOP_GRACE_MS = 5_000;

export type BenchChildEntry = 'echo-server' | 'seed-baseline-server' | 'raw-bullmq-worker';

export interface BenchChild {
  /** The port it listens on (0 for the worker). */
  port: number;
  output(): string;
  /** SIGTERM, SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
  /** Its process id (the cost phase reads its CPU). */
  pid: number;
}

export async function startBenchChild(entry: BenchChildEntry, env: Record<string, string>, teardown: Teardown): Promise<BenchChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', `scripts/bench/src/servers/${entry}.ts`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  const stop = teardown.add(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  });
  try {
    await waitFor(() => READY.test(output) || child.exitCode !== null, { timeoutMs: 60_000, message: `${entry} to start` });
    if (!READY.test(output)) throw new Error(`${entry} exited while starting: ${output.trim().split('\n').slice(-3).join(' | ')}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port: Number(READY.exec(output)![1]), pid: child.pid!, output: () => output, stop };
}
