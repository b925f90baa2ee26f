import { v7 as uuidv7 } from 'uuid';
import { sql } from 'kysely';
import { couponKeys } from '@coupons/shared/redis';
import {
  countInversions,
  createTestEnvironment,
  waitFor,
  type AnsweredRequest,
  type TestEnvironment,
} from '@coupons/shared/testing';
import { startApi as startApiProcess, startWorker, type ServiceProcess } from '@coupons/harness/processes';

/** A test coupon with a small limit, open now. */
export async function createCoupon(env: TestEnvironment, code: string, totalQuantity: number): Promise<void> {
  await env.db
    .insertInto('coupon')
    .values({ id: uuidv7(), code, name: `Test ${code}`, discount_amount: 100, total_quantity: totalQuantity })
    .execute();
}

/** A real API process on an ephemeral port. */
export async function startApi(env: TestEnvironment): Promise<{ process: ServiceProcess; baseUrl: string }> {
  return startApiProcess({ ...env.env, PORT: '0', LOG_LEVEL: 'info' });
}

/** `count` real worker processes. */
export async function startWorkers(env: TestEnvironment, count: number, extraEnv: Record<string, string> = {}): Promise<ServiceProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker({ ...env.env, LOG_LEVEL: 'info', ...extraEnv })));
}

/** Sends one issue request and records it as a client saw it. */
export async function submit(baseUrl: string, couponCode: string, userId: string): Promise<AnsweredRequest> {
  const sentAt = performance.now();
  const res = await fetch(`${baseUrl}/v1/coupons/${couponCode}/issue-requests`, { method: 'POST', headers: { 'x-user-id': userId } });
  const body = (await res.json()) as { ticketId?: string; code?: string };
  return { userId, couponCode, sentAt, answeredAt: performance.now(), status: res.status, code: body.code, ticketId: body.ticketId };
}

/** Sends requests for `userIds` (in that order) with `connections` in flight at once. */
export async function submitAll(baseUrl: string, couponCode: string, userIds: string[], connections = 32): Promise<AnsweredRequest[]> {
  const answered: AnsweredRequest[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < userIds.length) answered.push(await submit(baseUrl, couponCode, userIds[next++]!));
    }),
  );
  return answered;
}

export function distinctUsers(count: number): string[] {
  return Array.from({ length: count }, () => crypto.randomUUID());
}

/** Waits until every ticket of these answers is final in Redis; returns userId → status. */
export async function waitUntilAllFinal(env: TestEnvironment, couponCode: string, answered: AnsweredRequest[], timeoutMs = 60_000) {
  const keys = couponKeys(env.config.REDIS_PREFIX, couponCode);
  const ticketIds = [...new Set(answered.filter((a) => a.ticketId).map((a) => a.ticketId!))];
  let statuses: (string | null)[] = [];
  await waitFor(
    async () => {
      statuses = await Promise.all(ticketIds.map((id) => env.redis.hget(`${keys.ticketPrefix}${id}`, 'status')));
      return statuses.every((status) => status === 'issued' || status === 'rejected');
    },
    { timeoutMs, intervalMs: 200, message: `all ${ticketIds.length} tickets of ${couponCode} final` },
  );
  return new Map(ticketIds.map((id, i) => [id, statuses[i]!]));
}

export interface EventVerdict {
  issuedQuantity: number;
  wallets: number;
  distinctWalletUsers: number;
  issuedTickets: number;
  inversions: number;
  serverErrors: number;
}

/** Reads the truth from Postgres and compares it with what the clients saw. */
export async function verifyEvent(
  env: TestEnvironment,
  couponCode: string,
  answered: AnsweredRequest[],
  finalStatus: Map<string, string>,
): Promise<EventVerdict> {
  const coupon = await env.db.selectFrom('coupon').select(['id', 'issued_quantity']).where('code', '=', couponCode).executeTakeFirstOrThrow();
  const { rows } = await sql<{ wallets: number; users: number }>`
    SELECT count(*)::int AS wallets, count(DISTINCT user_id)::int AS users FROM coupon_wallet WHERE coupon_id = ${coupon.id}`.execute(env.db);
  const winnerRows = await env.db.selectFrom('coupon_wallet').select(['id', 'user_id']).where('coupon_id', '=', coupon.id).execute();
  const winners = new Set(winnerRows.map((row) => row.user_id));
  // Every issued ticket is a wallet with the ticket's id, and the other way round.
  const issuedTicketIds = [...finalStatus].filter(([, status]) => status === 'issued').map(([id]) => id);
  const walletIds = new Set(winnerRows.map((row) => row.id));
  const issuedTickets = issuedTicketIds.filter((id) => walletIds.has(id)).length;
  return {
    issuedQuantity: coupon.issued_quantity,
    wallets: rows[0]!.wallets,
    distinctWalletUsers: rows[0]!.users,
    issuedTickets,
    inversions: countInversions(answered, winners),
    serverErrors: answered.filter((a) => a.status >= 500 && a.code !== 'OVERLOADED').length,
  };
}

/** What an exact, fair event looks like for a coupon of `limit` with more demand than coupons. */
export function exactEvent(limit: number): EventVerdict {
  return { issuedQuantity: limit, wallets: limit, distinctWalletUsers: limit, issuedTickets: limit, inversions: 0, serverErrors: 0 };
}

/** A running local event: its own database and prefix, one coupon, one API process, worker processes. */
export interface LocalEvent {
  env: TestEnvironment;
  baseUrl: string;
  processes: ServiceProcess[];
  /** Starts more workers (with extra variables, e.g. fault injection) and tracks them for stop(). */
  addWorkers(count: number, extraEnv?: Record<string, string>): Promise<ServiceProcess[]>;
  stop(): Promise<void>;
}

export async function startLocalEvent(options: {
  coupon: string;
  limit: number;
  workers: number;
  env?: Record<string, string>;
}): Promise<LocalEvent> {
  const env = await createTestEnvironment(options.env);
  await createCoupon(env, options.coupon, options.limit);
  const api = await startApi(env);
  const processes: ServiceProcess[] = [api.process];
  const event: LocalEvent = {
    env,
    baseUrl: api.baseUrl,
    processes,
    async addWorkers(count, extraEnv = {}) {
      const workers = await startWorkers(env, count, extraEnv);
      processes.push(...workers);
      return workers;
    },
    async stop() {
      for (const p of processes) if (p.child.exitCode === null) p.signal('SIGCONT');
      await Promise.all(processes.map((p) => p.kill()));
      await env.cleanup();
    },
  };
  if (options.workers > 0) await event.addWorkers(options.workers);
  return event;
}
