// `pnpm burst [flags]`: presets, flags, and one clear line for anything wrong.
import { AUTH_FLAG_USAGE, authMode, commaList, readFlags, UsageError, wholeNumber } from '@coupons/harness/cli';
import type { AuthMode } from '@coupons/shared/config';
import type { CouponDemand } from '@coupons/harness/load';
import type { CouponSpec } from '@coupons/harness/cluster';

export type { CouponDemand, CouponSpec };

export interface BurstOptions {
  preset: PresetName;
  demand: CouponDemand[];
  /** Share of the requests that repeat an earlier user's request (a double click, a retry). */
  resubmitRate: number;
  /** Total POSTs: distinct users plus resubmissions. */
  requests: number;
  connections: number;
  /** Target running APIs; empty: start a local cluster. */
  urls: string[];
  apis: number;
  workers: number;
  /** With --url: where to read the truth (issued_quantity, wallets) instead of GET /v1/coupons. */
  databaseUrl: string | null;
  /** Seconds to wait for every ticket to become final. */
  deadlineSeconds: number;
  pollConcurrency: number;
  /** Seconds before the load generator gives up on one answer. */
  requestTimeoutSeconds: number;
  jsonFile: string | null;
  /** Run the local cluster on a private redis-server (AOF off), so the memory figures are this event's alone. */
  privateRedis: boolean;
  /**
   * Memory mode (--memory): a private Redis, TICKET_TTL_SECONDS at its minimum (60), and after the
   * event the burst waits for the retention and the ticket TTL and measures what memory remains.
   */
  memory: boolean;
  /** EVENT_RETENTION_SECONDS for the local services (null: their default); the burst waits for it when set. */
  retentionSeconds: number | null;
  /** TICKET_TTL_SECONDS for the local services (null: their default); --memory waits for it. */
  ticketTtlSeconds: number | null;
  /** The local cluster's AUTH_MODE; the load and the polls identify themselves accordingly. */
  auth: AuthMode;
  /** --sse: follow each ticket over its event stream from its 202 on, instead of polling. */
  sse: boolean;
  /** --sse-streams: streams open at once (more tickets wait for a place). */
  sseStreams: number;
  /** --coupons K --stock S: the run's own coupons, created in the local cluster's database (null: existing ones). */
  ownCoupons: CouponSpec[] | null;
  /** --rate: requests per second over all connections (null: as fast as answers come back). */
  rate: number | null;
  /** --max-seconds: no request is sent after this many seconds (the rest of the plan is dropped). */
  maxSeconds: number | null;
  /** --linearity: first the same event at a tenth of its size, then this one; the CPU per ticket compared. */
  linearity: boolean;
  /** --redis-cluster: the local cluster's services on a Redis Cluster of the run's own (six nodes). */
  redisCluster: boolean;
}

const PRESETS = {
  /** The full three-coupon event: every coupon's demand above its limit (300 / 2,000 / 10,000). */
  event: { demand: 'A0001=2000,B0001=4000,C0001=13000', resubmit: 0.2, apis: 2, workers: 2, connections: 100, deadline: 120 },
  /** The seed system's own scenario: 10,000 distinct users, one request each, on A0001. */
  seed: { demand: 'A0001=10000', resubmit: 0, apis: 2, workers: 2, connections: 100, deadline: 120 },
  /** A few seconds, for CI: 600 users for A0001's 300 coupons, one API, one worker. */
  smoke: { demand: 'A0001=600', resubmit: 0.2, apis: 1, workers: 1, connections: 20, deadline: 30 },
} as const;
type PresetName = keyof typeof PRESETS;

/** --sse's streams open at once unless --sse-streams says otherwise. */
export const DEFAULT_SSE_STREAMS = 6_000;

export const USAGE = `Usage: pnpm burst [flags]

Simulates the coupon event with autocannon: many users (each request with its own X-User-Id),
resubmissions, then polls every ticket until final and verifies the invariants.
Without --url it starts its own cluster (fresh database and Redis prefix) and tears it down after.

Scenario
  --preset NAME         event (default: A0001=2000,B0001=4000,C0001=13000, 20 % resubmissions),
                        seed (A0001=10000, no resubmissions), smoke (A0001=600, 1 API, 1 worker)
  --smoke               same as --preset smoke (a few seconds; for CI)
  --users CODE=N,...    distinct users per coupon (replaces the preset's)
  --users N --coupons K --stock S
                        N distinct users over K coupons of the run's own (M0001…, created in the local
                        cluster's database), whose limits add up to S; users and limits split evenly
  --resubmit R          share of requests that are resubmissions, 0 <= R < 1 (default 0.2)
  --requests N          total requests (default: users / (1 - R)); at least the number of users
  --connections N       concurrent connections (default 100)
  --rate R              at most R requests per second over all connections (default: as fast as answered)
  --max-seconds S       send nothing after S seconds: the rest of the plan is dropped, the requests in
                        flight are answered and everything sent is verified (the report says so)
  --linearity           first the same event at a tenth of its size (users, stock and requests ÷ 10,
                        every other flag the same), then this one: CPU per ticket compared (within 15 %)
Target
  --url URL[,URL...]    drive running API(s) instead of starting a cluster
  --database-url URL    with --url: read issued counts and wallets from this Postgres
  --api N               API processes to start (default 2)
  --redis-cluster       the services on a local Redis Cluster of the run's own (six redis-server nodes,
                        3 primaries + 3 replicas, REDIS_CLUSTER_NODES); memory summed over the primaries
  --workers M           worker processes to start (default 2)
  ${AUTH_FLAG_USAGE}
Afterwards
  --deadline S          seconds to wait for every ticket to be final (default 120)
  --poll-concurrency N  ticket polls in flight (default 64)
  --sse                 follow every ticket over GET /v1/tickets/{id}/events from its 202 until final,
                        instead of polling; reports the requests saved against a client polling once a second
  --sse-streams N       with --sse: streams open at once, more tickets wait for a place (default ${DEFAULT_SSE_STREAMS};
                        a local cluster's APIs accept that many connections)
  --timeout S           seconds before one POST counts as unanswered (default 10)
  --json FILE           also write the report as JSON
Memory (local cluster only)
  --private-redis       run the services on a private redis-server (AOF off, a free port), so the
                        Redis memory figures are this event's alone (default: the shared Redis, a prefix)
  --retention-seconds N EVENT_RETENTION_SECONDS for the services; after the event, wait until every
                        coupon's state has expired and measure the memory left
  --ticket-ttl-seconds N TICKET_TTL_SECONDS for the services (at least 60, the configuration's minimum)
  --memory              the memory measurement: --private-redis, --ticket-ttl-seconds 60 and
                        --retention-seconds 5 unless given; waits for the retention, then the ticket TTL.
                        A ticket polled later than the TTL after its decision answers 404 by contract,
                        and state that expires during the burst is missing from the peak: for an event
                        longer than a minute give both more than the burst lasts (see the README)
  --help                this text

Exit code: 0 when every invariant holds, 1 when one fails, 2 on bad flags or a failed start.`;

function parseDemand(value: string): CouponDemand[] {
  const demand = commaList(value, (part) => {
    const match = /^([A-Z0-9]{1,32})\s*=\s*(\d+)$/.exec(part);
    if (!match || Number(match[2]) < 1) throw new UsageError(`--users wants CODE=N[,CODE=N...] with N >= 1 (e.g. A0001=10000), got ${JSON.stringify(part)}`);
    return { code: match[1]!, users: Number(match[2]) };
  });
  const codes = demand.map((d) => d.code);
  const twice = codes.find((code, i) => codes.indexOf(code) !== i);
  if (twice) throw new UsageError(`--users names ${twice} twice`);
  return demand;
}

/** K coupons M0001… whose limits add up to `stock`, and `users` distinct users split over them, evenly. Pure. */
export function ownCoupons(count: number, users: number, stock: number): { coupons: CouponSpec[]; demand: CouponDemand[] } {
  const share = (total: number, i: number) => Math.floor(total / count) + (i < total % count ? 1 : 0);
  const codes = Array.from({ length: count }, (_, i) => `M${String(i + 1).padStart(4, '0')}`);
  return {
    coupons: codes.map((code, i) => ({ code, limit: share(stock, i) })),
    demand: codes.map((code, i) => ({ code, users: share(users, i) })),
  };
}

function parseUrls(value: string): string[] {
  return commaList(value, (raw) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new UsageError(`--url must be an http(s) base URL such as http://127.0.0.1:3000, got ${JSON.stringify(raw)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http or https, got ${JSON.stringify(raw)}`);
    return url.origin;
  });
}

/** --memory's EVENT_RETENTION_SECONDS unless --retention-seconds says otherwise. */
export const MEMORY_RETENTION_SECONDS = 5;
/** --memory's TICKET_TTL_SECONDS unless --ticket-ttl-seconds says otherwise: the least the configuration allows. */
export const MEMORY_TICKET_TTL_SECONDS = 60;

/** Parses argv (without node and the script); throws UsageError with one line on anything wrong. */
export function parseBurstArgs(argv: readonly string[]): BurstOptions | 'help' {
  const values = readFlags(argv, {
    preset: { type: 'string' },
    smoke: { type: 'boolean' },
    users: { type: 'string' },
    resubmit: { type: 'string' },
    requests: { type: 'string' },
    connections: { type: 'string' },
    url: { type: 'string' },
    'database-url': { type: 'string' },
    api: { type: 'string' },
    workers: { type: 'string' },
    deadline: { type: 'string' },
    'poll-concurrency': { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'string' },
    'private-redis': { type: 'boolean' },
    'retention-seconds': { type: 'string' },
    'ticket-ttl-seconds': { type: 'string' },
    memory: { type: 'boolean' },
    auth: { type: 'string' },
    sse: { type: 'boolean' },
    'sse-streams': { type: 'string' },
    coupons: { type: 'string' },
    stock: { type: 'string' },
    rate: { type: 'string' },
    'max-seconds': { type: 'string' },
    linearity: { type: 'boolean' },
    'redis-cluster': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';

  if (values.smoke && values.preset && values.preset !== 'smoke') throw new UsageError(`--smoke and --preset ${values.preset} contradict each other`);
  const presetName = values.smoke ? 'smoke' : (values.preset ?? 'event');
  if (!(presetName in PRESETS)) throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(presetName)}`);
  const preset = PRESETS[presetName as PresetName];

  const urls = values.url === undefined ? [] : parseUrls(values.url);
  if (urls.length > 0 && (values.api !== undefined || values.workers !== undefined)) {
    throw new UsageError('--api and --workers start a local cluster; they cannot be combined with --url');
  }
  for (const flag of ['private-redis', 'retention-seconds', 'ticket-ttl-seconds', 'memory', 'coupons', 'stock', 'linearity', 'redis-cluster'] as const) {
    if (urls.length > 0 && values[flag] !== undefined) throw new UsageError(`--${flag} configures the local cluster; it cannot be combined with --url`);
  }
  const auth = authMode(values.auth);
  if (urls.length > 0 && auth !== 'trusted-header') throw new UsageError(`--auth ${auth} mints with a key made for the run, which only a local cluster trusts; it cannot be combined with --url`);
  if (urls.length === 0 && values['database-url'] !== undefined) throw new UsageError('--database-url only goes with --url (a local cluster reads its own database)');
  if (values['database-url'] !== undefined && !/^postgres(ql)?:\/\//.test(values['database-url'])) {
    throw new UsageError(`--database-url must be a postgres:// URL, got ${JSON.stringify(values['database-url'])}`);
  }

  if (values['redis-cluster'] && values['private-redis']) throw new UsageError('--redis-cluster runs on six private nodes already; drop --private-redis');
  if (values['sse-streams'] !== undefined && !values.sse) throw new UsageError('--sse-streams goes with --sse');
  if (values.requests !== undefined && values.resubmit !== undefined) {
    throw new UsageError('give --requests or --resubmit, not both: one follows from the other and the users');
  }
  let ownSpec: ReturnType<typeof ownCoupons> | null = null;
  if (values.coupons !== undefined || values.stock !== undefined) {
    if (values.coupons === undefined || values.stock === undefined) throw new UsageError('--coupons K and --stock S go together (K coupons of the run\'s own whose limits add up to S)');
    const count = wholeNumber('coupons', values.coupons, 1, 1_000)!;
    const stock = wholeNumber('stock', values.stock, count)!;
    if (values.users === undefined || !/^\d+$/.test(values.users.trim())) throw new UsageError('--coupons wants --users N: the number of distinct users, split over the coupons (e.g. --users 1000000 --coupons 50 --stock 100000)');
    const total = wholeNumber('users', values.users, count)!;
    ownSpec = ownCoupons(count, total, stock);
  } else if (values.users !== undefined && /^\d+$/.test(values.users.trim())) {
    throw new UsageError(`--users ${values.users.trim()} without coupons: give CODE=N[,CODE=N...], or add --coupons K --stock S`);
  }
  const demand = ownSpec?.demand ?? parseDemand(values.users ?? preset.demand);
  if (values.linearity && !ownSpec) throw new UsageError('--linearity scales the run\'s own coupons: give --users N --coupons K --stock S');
  if (values.linearity && ownSpec && Number(values.stock) / 10 < ownSpec.coupons.length) throw new UsageError(`--linearity's tenth needs a stock of at least one per coupon: --stock ${values.stock} / 10 is below --coupons ${ownSpec.coupons.length}`);
  const users = demand.reduce((sum, d) => sum + d.users, 0);
  const resubmitRate = values.resubmit === undefined ? preset.resubmit : Number(values.resubmit);
  if (values.resubmit !== undefined && (values.resubmit.trim() === '' || !(resubmitRate >= 0 && resubmitRate < 1))) {
    throw new UsageError(`--resubmit must be a share from 0 to below 1 (e.g. 0.2), got ${JSON.stringify(values.resubmit)}`);
  }
  const requests = wholeNumber('requests', values.requests, 1) ?? Math.round(users / (1 - resubmitRate));
  if (requests < users) throw new UsageError(`--requests ${requests} is below the ${users} distinct users: each user sends at least one`);

  return {
    preset: presetName as PresetName,
    demand,
    resubmitRate: requests === 0 ? 0 : (requests - users) / requests,
    requests,
    connections: Math.min(wholeNumber('connections', values.connections, 1, 10_000) ?? preset.connections, requests),
    urls,
    apis: wholeNumber('api', values.api, 1, 64) ?? preset.apis,
    workers: wholeNumber('workers', values.workers, 1, 64) ?? preset.workers,
    databaseUrl: values['database-url'] ?? null,
    deadlineSeconds: wholeNumber('deadline', values.deadline, 1) ?? preset.deadline,
    pollConcurrency: wholeNumber('poll-concurrency', values['poll-concurrency'], 1, 1_000) ?? 64,
    requestTimeoutSeconds: wholeNumber('timeout', values.timeout, 1) ?? 10,
    jsonFile: values.json ?? null,
    // A Redis Cluster is the run's own already (--memory on it needs no private server besides).
    privateRedis: Boolean((values['private-redis'] || values.memory) && !values['redis-cluster']),
    memory: Boolean(values.memory),
    retentionSeconds: wholeNumber('retention-seconds', values['retention-seconds'], 1, 86_400) ?? (values.memory ? MEMORY_RETENTION_SECONDS : null),
    ticketTtlSeconds: wholeNumber('ticket-ttl-seconds', values['ticket-ttl-seconds'], MEMORY_TICKET_TTL_SECONDS, 86_400) ?? (values.memory ? MEMORY_TICKET_TTL_SECONDS : null),
    auth,
    sse: Boolean(values.sse),
    sseStreams: wholeNumber('sse-streams', values['sse-streams'], 1, 15_000) ?? DEFAULT_SSE_STREAMS,
    ownCoupons: ownSpec?.coupons ?? null,
    rate: wholeNumber('rate', values.rate, 1) ?? null,
    maxSeconds: wholeNumber('max-seconds', values['max-seconds'], 1) ?? null,
    linearity: Boolean(values.linearity),
    redisCluster: Boolean(values['redis-cluster']),
  };
}
