// Steps several scenarios share: finishing the burst, measuring recovery from the services' logs,
// a ticket of one's own to probe with, and checking that each worker still decides on its own.
import { waitFor } from '@coupons/shared/testing';
import type { ChaosCluster, ChaosService } from '../cluster.ts';
import type { ScenarioContext } from '../scenario.ts';
import { BATCH_DECIDED, firstEventAfter, lastLines } from '../service-log.ts';
import type { RecordedRequest } from '@coupons/harness/load';
import { ticketKey } from '@coupons/shared/redis';
import { issueRequest, settle, type Observation } from '../traffic.ts';

/** Waits for the load (`done`), the drain and the polls; reads the truth. */
export async function finishBurst(
  ctx: ScenarioContext,
  cluster: ChaosCluster,
  done: Promise<RecordedRequest[]>,
  codes: string[],
  pollDeadlineMs = ctx.sizes.pollDeadlineMs,
): Promise<Observation> {
  ctx.log('load: waiting for the last answers');
  const requests = await done;
  ctx.log(`load: ${requests.length} requests answered; waiting for the backlog to drain, then polling every ticket`);
  return settle(cluster, requests, { codes, drainTimeoutMs: ctx.sizes.drainTimeoutMs, pollDeadlineMs, connections: ctx.sizes.burst.connections });
}

/**
 * Milliseconds from `since` to the first batch a worker decided after it (optionally of one
 * coupon, or not by one worker); null if none within `timeoutMs`, or if `idle()` said first that
 * there was nothing left to decide.
 */
export async function firstBatchAfter(
  cluster: ChaosCluster,
  since: number,
  filter: { coupon?: string; notService?: string } = {},
  timeoutMs = 30_000,
  idle: () => Promise<boolean> = async () => false,
): Promise<number | null> {
  try {
    const event = await waitFor(async () => firstEventAfter(cluster.services, BATCH_DECIDED, since, filter) ?? ((await idle()) ? 'idle' : undefined), {
      timeoutMs,
      intervalMs: 20,
      message: 'a batch decided',
    });
    return event === 'idle' ? null : event.time - since;
  } catch {
    return null;
  }
}

/** Nothing left to decide: the load is over and every coupon's pending set is empty. */
export function idleWhenDone(cluster: ChaosCluster, codes: string[], done: Promise<unknown>): () => Promise<boolean> {
  let over = false;
  void done.then(() => (over = true), () => (over = true));
  const { redis } = cluster.environment;
  return async () => over && (await Promise.all(codes.map((code) => redis.zcard(cluster.keys(code).pending)))).every((n) => n === 0);
}

/** A ticket of our own (a new user on `couponCode`), for probes that poll a known ticket. */
export async function ownTicket(cluster: ChaosCluster, couponCode: string): Promise<{ ticketId: string; userId: string; couponCode: string }> {
  const userId = crypto.randomUUID();
  const answer = await issueRequest(cluster.apiUrls[0]!, couponCode, userId, 10_000);
  if (answer.status !== 202 || !answer.ticketId) throw new Error(`could not get a ticket on ${couponCode}: ${answer.status} ${answer.code ?? answer.error ?? ''}`);
  return { ticketId: answer.ticketId, userId, couponCode };
}

/** Milliseconds until every API answers GET /readyz (on its operations port, as a kubelet asks) with 200; null if not within `timeoutMs`. */
export async function apisReadyAfter(cluster: ChaosCluster, since: number, timeoutMs = 30_000): Promise<number | null> {
  const ready = (url: string) => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((res) => res.ok, () => false);
  try {
    await waitFor(async () => (await Promise.all(cluster.opsUrls.map(ready))).every(Boolean), { timeoutMs, intervalMs: 50, message: 'every API ready' });
    return Date.now() - since;
  } catch {
    return null;
  }
}

export interface WorkerCheck {
  worker: string;
  /** Milliseconds until its probe tickets were final; null if they never were. */
  ms: number | null;
}

/**
 * Proves each worker decides on its own: the others are SIGSTOPped, two new users ask for
 * `couponCode` (a coupon with room left), and their tickets must become final. A worker whose
 * BullMQ loop or Redis connections did not come back leaves them queued.
 */
export async function checkEachWorkerDecides(cluster: ChaosCluster, couponCode: string, timeoutMs = 25_000): Promise<WorkerCheck[]> {
  const checks: WorkerCheck[] = [];
  const workers = cluster.liveWorkers();
  const statusOf = (ticketId: string, userId: string) =>
    fetch(`${cluster.apiUrls[0]}/v1/tickets/${ticketId}`, { headers: { 'x-user-id': userId }, signal: AbortSignal.timeout(2_000) })
      .then((res) => (res.ok ? res.json() : {}), () => ({}))
      .then((body) => (body as { status?: string }).status);
  for (const worker of workers) {
    const others = workers.filter((w) => w !== worker);
    for (const other of others) other.process.signal('SIGSTOP');
    const started = Date.now();
    try {
      const tickets = await Promise.all([1, 2].map(() => ownTicket(cluster, couponCode)));
      await waitFor(
        async () => (await Promise.all(tickets.map((t) => statusOf(t.ticketId, t.userId)))).every((s) => s === 'issued' || s === 'rejected'),
        { timeoutMs, intervalMs: 100, message: `${worker.name} deciding on its own` },
      );
      checks.push({ worker: worker.name, ms: Date.now() - started });
    } catch {
      checks.push({ worker: worker.name, ms: null });
    } finally {
      for (const other of others) other.process.signal('SIGCONT');
    }
  }
  return checks;
}

/** A violation line per worker that did not decide on its own, with its last log lines as evidence. */
export function workerCheckViolations(cluster: ChaosCluster, checks: WorkerCheck[], after: string): string[] {
  return checks
    .filter((check) => check.ms === null)
    .map((check) => {
      const service = cluster.services.find((s) => s.name === check.worker) as ChaosService;
      return `${check.worker} decided nothing on its own ${after} (its last lines: ${lastLines(service, 3).join(' | ')})`;
    });
}

export const seconds = (ms: number | null): string => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

export interface WalletExplanation {
  /** Per coupon: winners whose every answer was a 503 (or none), who got their issued ticket when they asked again. */
  silentWinners: Record<string, number>;
  notes: string[];
}

/**
 * Accounts for every wallet whose ticket no poll saw issued. A user answered only 503 may still
 * have been admitted (the API's admission ran, then Redis went away before the enqueue or the
 * answer): asked again, as the Retry-After invites, they must get that ticket, issued. Any
 * other such wallet is a winner who cannot see their ticket; the note says what Redis holds for it.
 */
export async function explainWallets(cluster: ChaosCluster, codes: string[], observation: Observation): Promise<WalletExplanation> {
  const { db, redis, config } = cluster.environment;
  const seenIssued = new Set(observation.tickets.filter((t) => t.status === 'issued').map((t) => t.ticketId));
  const polled = new Map(observation.tickets.map((t) => [t.ticketId, t]));
  const wallets = await db
    .selectFrom('coupon_wallet')
    .innerJoin('coupon', 'coupon.id', 'coupon_wallet.coupon_id')
    .select(['coupon_wallet.id', 'coupon_wallet.user_id', 'coupon.code'])
    .where('coupon.code', 'in', codes)
    .execute();
  const silentWinners: Record<string, number> = {};
  const unexplained: Record<string, number> = {};
  for (const wallet of wallets.filter((w) => !seenIssued.has(w.id))) {
    const answers = observation.requests.filter((r) => r.userId === wallet.user_id && r.couponCode === wallet.code);
    let askedAgain = '';
    if (answers.length > 0 && answers.every((r) => r.status === 0 || r.status >= 500)) {
      const again = await issueRequest(cluster.apiUrls[0]!, wallet.code, wallet.user_id, 10_000);
      if (again.status === 200 && again.ticketId === wallet.id) {
        silentWinners[wallet.code] = (silentWinners[wallet.code] ?? 0) + 1;
        continue;
      }
      askedAgain = `; asked again: ${again.status}${again.code ? ` ${again.code}` : ''}${again.ticketId && again.ticketId !== wallet.id ? ' (another ticket)' : ''}`;
    }
    const fields = await redis.hgetall(ticketKey(config.REDIS_PREFIX, wallet.code, wallet.id));
    const hash = Object.keys(fields).length === 0 ? 'no ticket hash' : `ticket hash {${Object.keys(fields).sort().join(',')}} status=${fields.status}`;
    const poll = polled.get(wallet.id);
    const key = `${wallet.code}: ${hash}; poll ${poll ? (poll.lastPollStatus ?? 'none') : 'n/a (not a ticket any answer carried)'}; the user's answers ${[...new Set(answers.map((a) => `${a.status}${a.code ? ` ${a.code}` : ''}`))].join('/') || 'none'}${askedAgain}`;
    unexplained[key] = (unexplained[key] ?? 0) + 1;
  }
  const notes = Object.entries(unexplained).map(([state, n]) => `wallet without an issued ticket ×${n}: ${state}`);
  const silent = Object.entries(silentWinners);
  if (silent.length) {
    notes.push(`admitted though answered 503 (asked again, they got their issued ticket, 200): ${silent.map(([code, n]) => `${code} ×${n}`).join(', ')}`);
  }
  return { silentWinners, notes };
}
