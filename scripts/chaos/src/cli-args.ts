// `pnpm chaos [flags]`: which scenarios, how big, which AOF fsync policy, where the JSON goes.
import { commaList, readFlags, UsageError } from '@coupons/harness/cli';
import type { AppendFsync } from '@coupons/shared/testing';

export interface ChaosOptions {
  /** Scenarios to run, by number ('3': both variants) or id ('3-sigkill', '6b'); empty: all. */
  only: string[];
  /** A short pass: small demand; scenarios 2, 3-sigkill, 4-immediate, 6b, 7, 8, 10. */
  quick: boolean;
  appendfsync: AppendFsync;
  jsonFile: string | null;
}

export const USAGE = `Usage: pnpm chaos [flags]

The burst with faults injected, one scenario at a time, each on a fresh database and a fresh
private Redis (redis-server with appendonly yes on a free port, in a temp dir): 2 API and 3 worker
processes, then the invariants checked against Postgres. Prints one row per scenario and exits
non-zero on any violation (losses inherent to a flushed Redis, scenario 6b, are reported, not failed).

  0  AOF cost: the burst unpaced, Redis SIGKILLed halfway: throughput, and acknowledged writes lost
  1  a worker SIGKILLed mid-batch (before, then after the commit); a replacement started later
  2  every worker killed; the backlog waits; new workers finish it
  3  Redis restarted mid-burst (SIGTERM, then SIGKILL): 503 while down, API and workers reconnect
  4  Postgres restarted mid-burst (a private server: pg_ctl stop -m fast, then -m immediate)
  5  a lock holder SIGSTOPped past its lease, another worker takes over, SIGCONT: fenced out
  6  Redis fast-path state lost: (a) meta and users keys deleted, (b) FLUSHALL
  7  overload: far more requests than ADMISSION_MAX_BACKLOG; clients retry after Retry-After
  8  Redis restored from a snapshot older than Postgres (AOF off, BGSAVE, SIGKILL, restart):
     healed from Postgres; the acknowledged admissions the snapshot never saw are counted
  9  Sentinel failover (primary, 2 replicas, 3 sentinels): the primary SIGKILLed mid-burst, with
     ADMISSION_DURABILITY async (9-async: lost admissions counted) and replica (9-replica: none may be lost)
 10  Redis at maxmemory (noeviction) for a few seconds mid-burst: 503 never 500, then the event completes
 11  Redis Cluster failover (six nodes: 3 primaries + a replica each; REDIS_CLUSTER_NODES): the primary of
     a coupon SIGKILLed mid-burst, its replica promoted; 11-async (lost admissions counted) and
     11-replica (ADMISSION_DURABILITY=replica: none may be lost)

Flags
  --only S[,S...]        run these scenarios: a number above (all its variants) or an id
                         (3-sigterm, 3-sigkill, 4-fast, 4-immediate, 6a, 6b, 9-async, 9-replica,
                         11-async, 11-replica);
                         default all
  --quick                a short pass (about two minutes): small demand, and only 2, 3-sigkill,
                         4-immediate, 6b, 7, 8 and 10 (the worker tests cover 1, 5 and 6a's faults,
                         services/worker/test/sentinel-failover.test.ts 9's)
  --appendfsync POLICY   everysec (default) or always, for the private Redis's AOF
  --json FILE            also write every row and its details as JSON
  --help                 this text

Progress goes to stderr, the table to stdout. Exit code 0: every invariant held;
1: a violation; 2: bad flags or the cluster could not be started.`;

/** `scenarioIds`: every scenario's id ('1', '3-sigterm', '6a', ...); --only takes those or their numbers. */
export function parseChaosArgs(argv: readonly string[], scenarioIds: readonly string[]): ChaosOptions | 'help' {
  const values = readFlags(argv, {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    appendfsync: { type: 'string', default: 'everysec' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  });
  if (values.help) return 'help';

  const scenario = (part: string) => {
    const known = scenarioIds.includes(part) || scenarioIds.some((id) => id.match(/^\d+/)![0] === part);
    if (!known) throw new UsageError(`--only takes scenario numbers or ids (${scenarioIds.join(', ')}), not "${part}"`);
    return part;
  };
  const only = values.only === undefined ? [] : [...new Set(commaList(values.only, scenario))];
  const appendfsync = values.appendfsync;
  if (appendfsync !== 'everysec' && appendfsync !== 'always') throw new UsageError(`--appendfsync is everysec or always, not "${appendfsync}"`);
  if (values.json === '') throw new UsageError('--json needs a file name');
  return { only, quick: values.quick ?? false, appendfsync, jsonFile: values.json ?? null };
}
