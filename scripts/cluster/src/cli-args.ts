// `pnpm cluster [--api N] [--workers M]`: flags, and one clear line for anything wrong.
import { readFlags, wholeNumber } from '@coupons/harness/cli';

export interface ClusterArgs {
  apis: number;
  workers: number;
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

/** Parses argv (without node and the script); throws UsageError with one line on anything wrong. */
export function parseClusterArgs(argv: readonly string[]): ClusterArgs | 'help' {
  const values = readFlags(argv, { api: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) return 'help';
  return { apis: wholeNumber('api', values.api, 1, MAX_REPLICAS) ?? 2, workers: wholeNumber('workers', values.workers, 0, MAX_REPLICAS) ?? 2 };
}
