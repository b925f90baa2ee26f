// `pnpm bench [flags]`: the full run by default, `--quick` for well under a minute.
import { AUTH_FLAG_USAGE, authMode, commaList, readFlags, UsageError, wholeNumber } from '@coupons/harness/cli';
import type { AuthMode } from '@coupons/shared/config';

export const PHASES = ['accept', 'auth', 'cost', 'linearity', 'drain', 'seed', 'scaling', 'durability', 'sse'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  preset: 'full' | 'quick';
  /** Concurrent connections of every HTTP load (autocannon). */
  connections: number;
  /** Unmeasured requests sent to each HTTP server first, so both sides run JIT-warm. */
  warmupRequests: number;
  /** P1: requests sent to the bare express echo and to this API (each from a distinct user). */
  acceptRequests: number;
  /** P2 and scaling: tickets (jobs) pre-filled before the workers start. */
  drainJobs: number;
  /** P3 and P4: distinct users of the seed scenarios (decisions: as many coupons; end to end: A0001's 300). */
  seedUsers: number;
  /** Measured runs of each side (in turns; the best is kept), except the slow seed design: once. */
  repeat: number;
  /** Worker processes of the scaling rows. */
  scalingWorkers: number[];
  /** The local cluster of the seed scenario (P3 end to end, P4). */
  apis: number;
  workers: number;
  /** Cost: admitted tickets (and as many SOLD_OUT answers and polls) measured for CPU per ticket. */
  costAdmissions: number;
  /** Cost linearity: admitted tickets of the small and the large run (the large one 10× by default). */
  linearityAdmissions: [number, number];
  /** Durability: admissions per measured run of each setup (in Redis, no HTTP). */
  durabilityAdmissions: number;
  /** Durability: admissions in flight at once (as many concurrent requests on one API process). */
  durabilityInFlight: number;
  /** SSE: concurrent ticket streams on one API process. */
  sseStreams: number;
  /** The seed baseline's spin lock: pause between SET NX attempts. */
  baselineRetryMs: number;
  /** Seconds before one request counts as unanswered. */
  requestTimeoutSeconds: number;
  phases: Phase[];
  /** AUTH_MODE of P1's API and the seed scenario's cluster (the auth phase compares jwt with trusted-header whatever this says). */
  auth: AuthMode;
  jsonFile: string | null;
}

const PRESETS = {
  full: { warmup: 2_000, accept: 20_000, drain: 20_000, seedUsers: 10_000, scaling: [1, 2, 4], repeat: 2, admissions: 20_000, cost: 20_000, linearity: [20_000, 200_000], sse: 10_000 },
  quick: { warmup: 500, accept: 4_000, drain: 4_000, seedUsers: 500, scaling: [1, 2], repeat: 1, admissions: 2_000, cost: 4_000, linearity: [2_000, 20_000], sse: 1_000 },
} as const;

export const USAGE = `Usage: pnpm bench [flags]

Runs, one after the other and with the same autocannon settings, this system beside references
it must be measured against, and prints each figure as a ratio (P1..P4, scaling) with its target,
then what durable admission costs (ADMISSION_DURABILITY=replica, appendfsync always) on private redis-servers.
Every process, database and Redis prefix it starts is removed at the end (also on Ctrl-C).

  --quick               a small run (well under a minute): 4,000 accept requests and jobs, 500 seed users,
                        2,000 admissions per durability setup, 500 warm-ups, scaling 1,2, each side measured once
  --connections N       concurrent connections of every HTTP load (default 100)
  --warmup N            unmeasured requests (jobs) to each server (worker) first (default 2,000; the seed
                        design at most 300 and a fifth of --seed-users)
  --requests N          P1: requests to the bare echo and to the API (default 20,000)
  --jobs N              P2 and scaling: pre-filled tickets / jobs (default 20,000)
  --seed-users N        P3/P4: distinct users of the seed scenarios (default 10,000)
  --repeat N            measure each side N times, in turns with the other side, and keep the best run
                        (default 2; the seed design is measured once: it is slow)
  --scaling LIST        worker processes of the scaling rows (default 1,2,4; 1 is P2's run when P2 ran)
  --api N, --workers M  the local cluster of the seed scenario (default 1 and 1)
  --cost-admissions N   cost: admitted tickets whose CPU is measured per process, then as many SOLD_OUT
                        answers and polls (default 20,000; --quick 4,000)
  --linearity-admissions SMALL,LARGE
                        cost linearity: admitted tickets of the two runs compared per ticket
                        (default 20,000,200,000; --quick 2,000,20,000)
  --admissions N        durability: admissions per measured run of each setup (default 20,000)
  --in-flight N         durability: admissions in flight at once (default 200)
  --sse-streams N       sse: concurrent ticket streams on one API process (default 10,000; --quick 1,000);
                        the load generator runs in a child process, each stream its own connection
  --baseline-retry-ms N the seed design's spin-lock retry pause (default 10)
  --timeout S           seconds before one request counts as unanswered (default 30)
  ${AUTH_FLAG_USAGE}
  --only LIST           run only these phases: ${PHASES.join(', ')} (P4 needs accept and seed;
                        durability alone: pnpm bench --only durability)
  --json FILE           also write every measurement and figure as JSON
  --help                this text

Service settings come from the environment, as for pnpm start (WORKER_CONCURRENCY=128 pnpm bench).`;

/** The bound of a count flag that has none of its own. */
const MAX_COUNT = 10_000_000;
const integer = (flag: string, value: string | undefined, min: number, max = MAX_COUNT) => wholeNumber(flag, value, min, max);

/** Every flag that takes a value; the rest are switches. */
const VALUE_FLAGS = [
  'connections', 'warmup', 'requests', 'jobs', 'seed-users', 'repeat', 'scaling',
  'api', 'workers', 'cost-admissions', 'linearity-admissions', 'admissions', 'in-flight', 'sse-streams', 'baseline-retry-ms', 'timeout', 'only', 'json', 'auth',
] as const;

function readBenchFlags(argv: readonly string[]) {
  const options = {
    ...(Object.fromEntries(VALUE_FLAGS.map((flag) => [flag, { type: 'string' }])) as Record<(typeof VALUE_FLAGS)[number], { type: 'string' }>),
    quick: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  return readFlags(argv, options);
}

/** --linearity-admissions SMALL,LARGE: two counts, the second larger. */
function linearitySizes(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const sizes = commaList(value, (part) => integer('linearity-admissions', part, 10)!);
  if (sizes.length !== 2 || sizes[1]! <= sizes[0]!) throw new UsageError(`--linearity-admissions takes SMALL,LARGE with LARGE > SMALL; got ${JSON.stringify(value)}`);
  return [sizes[0]!, sizes[1]!];
}

/** Parses argv (without node and the script); throws UsageError with one line on anything wrong. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const values = readBenchFlags(argv);
  if (values.help) return 'help';
  const preset = values.quick ? 'quick' : 'full';
  const defaults = PRESETS[preset];
  const phases =
    values.only === undefined
      ? [...PHASES]
      : commaList(values.only, (part) => {
          if (!(PHASES as readonly string[]).includes(part)) throw new UsageError(`--only takes ${PHASES.join(', ')}; got ${JSON.stringify(part)}`);
          return part as Phase;
        });
  return {
    preset,
    connections: integer('connections', values.connections, 1, 10_000) ?? 100,
    warmupRequests: integer('warmup', values.warmup, 0) ?? defaults.warmup,
    acceptRequests: integer('requests', values.requests, 1) ?? defaults.accept,
    drainJobs: integer('jobs', values.jobs, 1) ?? defaults.drain,
    seedUsers: integer('seed-users', values['seed-users'], 1) ?? defaults.seedUsers,
    repeat: integer('repeat', values.repeat, 1, 20) ?? defaults.repeat,
    scalingWorkers: values.scaling === undefined ? [...defaults.scaling] : commaList(values.scaling, (part) => integer('scaling', part, 1, 64)!),
    apis: integer('api', values.api, 1, 64) ?? 1,
    workers: integer('workers', values.workers, 1, 64) ?? 1,
    costAdmissions: integer('cost-admissions', values['cost-admissions'], 10) ?? defaults.cost,
    linearityAdmissions: linearitySizes(values['linearity-admissions']) ?? [...defaults.linearity],
    durabilityAdmissions: integer('admissions', values.admissions, 1) ?? defaults.admissions,
    durabilityInFlight: integer('in-flight', values['in-flight'], 1, 10_000) ?? 200,
    sseStreams: integer('sse-streams', values['sse-streams'], 1, 15_000) ?? defaults.sse,
    baselineRetryMs: integer('baseline-retry-ms', values['baseline-retry-ms'], 0, 1_000) ?? 10,
    requestTimeoutSeconds: integer('timeout', values.timeout, 1, 600) ?? 30,
    phases,
    auth: authMode(values.auth),
    jsonFile: values.json ?? null,
  };
}
