// `pnpm cluster [--api N] [--workers M]`: flags, and one clear line for anything wrong.
import { parseArgs } from 'node:util';

export interface ClusterArgs {
  apis: number;
  workers: number;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: pnpm cluster [--api N] [--workers M]

Runs what a deployment's replicas would be, on this machine: N API processes behind one port
(PORT, default 3000; a round-robin TCP balancer in front of them, as a Kubernetes Service is) and
M worker processes, all against REDIS_URL and DATABASE_URL (migrated and seeded first, as
pnpm start does). Ctrl-C or SIGTERM stops every process gracefully (each within its
SHUTDOWN_TIMEOUT_MS).

  --api N        API processes (default 2)
  --workers M    worker processes (default 2; 0 is allowed, to pre-fill a queue)
  --help         this text

Every other setting comes from the environment, as for pnpm start (WORKER_CONCURRENCY=128 pnpm cluster).`;

const MAX_REPLICAS = 64;

function count(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > MAX_REPLICAS) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${MAX_REPLICAS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Parses argv (without node and the script); throws UsageError with one line on anything wrong. */
export function parseClusterArgs(argv: readonly string[]): ClusterArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { api: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  return { apis: count('api', values.api, 2, 1), workers: count('workers', values.workers, 2, 0) };
}
