// The process tests' event, from the harness: a local cluster with one coupon, one API process
// and worker processes; requests through the harness's fetch client; every ticket polled as its
// owner; the harness's one invariant checker on the Postgres truth.
import { createCoupons, startLocalCluster, type LocalCluster } from '@coupons/harness/cluster';
import { distinctUsers, issueRequest, submitAll, type ClientAnswer, type RecordedRequest } from '@coupons/harness/load';
import { pollTickets, ticketsOf } from '@coupons/harness/poll';
import { startWorker, type ServiceProcess } from '@coupons/harness/processes';
import { couponFactsFromPostgres, verifyRun, walletIdsFromPostgres, type FaultRules, type TicketOutcome } from '@coupons/harness/verify';
import type { TestEnvironment } from '@coupons/shared/testing';

export { distinctUsers, submitAll };

/** A test coupon with a small limit, open now. */
export const createCoupon = (env: TestEnvironment, code: string, limit: number): Promise<void> => createCoupons(env, [{ code, limit }]);

/** One issue request, as a client saw it. */
export const submit = (baseUrl: string, couponCode: string, userId: string): Promise<ClientAnswer> => issueRequest(baseUrl, couponCode, userId);

/** `count` real worker processes on `env` (outside a local event). */
export async function startWorkers(env: TestEnvironment, count: number, extraEnv: Record<string, string> = {}): Promise<ServiceProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker({ ...env.env, LOG_LEVEL: 'info', ...extraEnv })));
}

/** A running local event: its own database and prefix, one coupon, one API process, worker processes. */
export interface LocalEvent {
  env: TestEnvironment;
  baseUrl: string;
  /** The API process first, then the workers in start order. */
  readonly processes: ServiceProcess[];
  /** Starts more workers (with extra variables, e.g. fault injection) and tracks them for stop(). */
  addWorkers(count: number, extraEnv?: Record<string, string>): Promise<ServiceProcess[]>;
  stop(): Promise<void>;
}

/** `moreCoupons`: other coupons of the same event (e.g. spread over the queue shards). */
export async function startLocalEvent(options: { coupon: string; limit: number; workers: number; env?: Record<string, string>; moreCoupons?: { code: string; limit: number }[] }): Promise<LocalEvent> {
  const cluster: LocalCluster = await startLocalCluster({
    apis: 1,
    workers: options.workers,
    overrides: options.env ?? {},
    coupons: [{ code: options.coupon, limit: options.limit }, ...(options.moreCoupons ?? [])],
    // Tests leave workers stopped (SIGSTOP) or half-broken: kill, do not wait for a graceful stop.
    stopWith: 'kill',
  });
  return {
    env: cluster.environment,
    baseUrl: cluster.apiUrls[0]!,
    get processes() {
      return cluster.services.map((service) => service.process);
    },
    addWorkers: async (count, extraEnv) => (await cluster.addWorkers(count, extraEnv)).map((service) => service.process),
    stop: cluster.teardown,
  };
}

/** Polls every ticket of these answers as its owner until all are final (or `timeoutMs`); ticket id → status. */
export async function waitUntilAllFinal(event: LocalEvent, answered: readonly RecordedRequest[], timeoutMs = 60_000): Promise<Map<string, TicketOutcome['status']>> {
  const { tickets } = await pollTickets(ticketsOf(answered), { urls: [event.baseUrl], deadlineMs: timeoutMs, concurrency: 16, connections: 48, roundIntervalMs: 200 });
  return new Map(tickets.map((ticket) => [ticket.ticketId, ticket.status]));
}

export interface EventVerdict {
  issuedQuantity: number;
  wallets: number;
  distinctWalletUsers: number;
  issuedTickets: number;
  inversions: number;
  serverErrors: number;
  /** Every invariant the harness's checker found broken. */
  failures: string[];
}

/** Reads the truth from Postgres and judges what the clients saw against it; `rules`: what the test's fault excuses. */
export async function verifyEvent(
  event: LocalEvent,
  couponCode: string,
  answered: readonly RecordedRequest[],
  finalStatus: Map<string, TicketOutcome['status']>,
  rules: FaultRules = {},
): Promise<EventVerdict> {
  const { db } = event.env;
  const [facts] = await couponFactsFromPostgres(db, [couponCode]);
  const owners = new Map(answered.filter((a) => a.ticketId).map((a) => [a.ticketId!, a.userId]));
  const tickets = [...finalStatus].map(([ticketId, status]): TicketOutcome => ({ ticketId, userId: owners.get(ticketId) ?? '', couponCode, status }));
  const startedAt = answered.reduce((first, a) => Math.min(first, a.sentAt), Infinity);
  const walletIds = await walletIdsFromPostgres(db, [couponCode]);
  const verdict = verifyRun({ fresh: true, startedAt, requests: answered, tickets, coupons: [facts!], walletIds }, rules);
  const [coupon] = verdict.coupons;
  return {
    issuedQuantity: facts!.issued,
    wallets: facts!.wallets!,
    distinctWalletUsers: facts!.distinctWalletUsers!,
    issuedTickets: coupon!.issuedTickets,
    inversions: coupon!.inversions,
    serverErrors: verdict.serverErrors,
    failures: verdict.failures,
  };
}

/** What an exact, fair event looks like for a coupon of `limit` with more demand than coupons. */
export function exactEvent(limit: number): EventVerdict {
  return { issuedQuantity: limit, wallets: limit, distinctWalletUsers: limit, issuedTickets: limit, inversions: 0, serverErrors: 0, failures: [] };
}
