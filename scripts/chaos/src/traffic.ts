// The load a scenario puts on its cluster, and what it saw. The pieces are the harness's: its plan
// (users interleaved across coupons, resubmissions), its autocannon load (here paced, so a fault
// lands mid-burst), its ticket polling and its fetch client. What is chaos's own: an outage probe
// that checks every 503's headers and latency, and clients that honour Retry-After (scenario 7).
// The verdict comes later, from judge.ts, under the scenario's fault rules.
import { setTimeout as delay } from 'node:timers/promises';
import { call, issueRequest, planRequests, runLoad, type ClientAnswer, type CouponDemand, type RecordedRequest } from '@coupons/harness/load';
import { askOnceMore, pollTickets, ticketsOf } from '@coupons/harness/poll';
import { couponFactsFromPostgres, walletIdsFromPostgres, type ObservedRun } from '@coupons/harness/verify';
import { waitFor } from '@coupons/shared/testing';
import type { ChaosCluster } from './cluster.ts';

export interface BurstShape {
  /** Share of requests that resubmit an earlier user's request. */
  resubmitRate: number;
  /** Requests per second over all connections: slow enough that faults land mid-burst. */
  rate: number;
  connections: number;
  /** Seconds before a request counts as unanswered (a hang). */
  timeoutSeconds: number;
}

export type RunningLoad = ReturnType<typeof runLoad> & { total: number };

export function startBurst(cluster: ChaosCluster, demand: CouponDemand[], shape: BurstShape): RunningLoad {
  const users = demand.reduce((sum, d) => sum + d.users, 0);
  const plan = planRequests(demand, Math.round(users / (1 - shape.resubmitRate)));
  const load = runLoad(plan, { urls: cluster.apiUrls, connections: shape.connections, timeoutSeconds: shape.timeoutSeconds, overallRate: shape.rate });
  return { ...load, total: plan.length };
}

/** Resolves once `share` of the load's requests have been answered (or the load is over). */
export function answeredShare(load: RunningLoad, share: number, timeoutMs = 60_000): Promise<unknown> {
  let over = false;
  void load.done.finally(() => (over = true)).catch(() => {});
  const count = Math.round(load.total * share);
  return waitFor(() => over || load.progress().answered >= count, { timeoutMs, intervalMs: 20, message: `${count} answers` });
}

/** Epoch ms when every coupon's pending set was seen empty, or null if not within `timeoutMs`. */
export async function waitDrained(cluster: ChaosCluster, codes: readonly string[], timeoutMs: number): Promise<number | null> {
  const { redis } = cluster.environment;
  try {
    return await waitFor(
      async () => {
        const backlog = await Promise.all(codes.map((code) => redis.zcard(cluster.keys(code).pending)));
        return backlog.every((n) => n === 0) ? Date.now() : 0;
      },
      { timeoutMs, intervalMs: 100, message: 'every pending ticket decided' },
    );
  } catch {
    return null;
  }
}

/** What a scenario observed once its load was over and its tickets polled: a run to judge. */
export interface Observation extends ObservedRun {
  requests: RecordedRequest[];
  /** Ids of the coupons' wallets in Postgres (a wallet's id is the id of the ticket that won it). */
  walletIds: ReadonlySet<string>;
  /** Epoch ms when every pending set was seen empty; null if it never was. */
  drainedAt: number | null;
}

export interface SettleOptions {
  codes: string[];
  drainTimeoutMs: number;
  /** How long polling may take once the backlog is drained (tickets that are lost never become final). */
  pollDeadlineMs: number;
  connections: number;
}

/** Waits for the backlog to drain, polls every ticket as its owner, reads the truth from Postgres. */
export async function settle(cluster: ChaosCluster, requests: RecordedRequest[], options: SettleOptions): Promise<Observation> {
  const drainedAt = await waitDrained(cluster, options.codes, options.drainTimeoutMs);
  const { tickets, decidedAt } = await pollTickets(ticketsOf(requests), {
    urls: cluster.apiUrls,
    deadlineMs: options.pollDeadlineMs,
    concurrency: 32,
    connections: options.connections,
  });
  await askOnceMore(cluster.apiUrls, tickets);
  const { db } = cluster.environment;
  const coupons = await couponFactsFromPostgres(db, options.codes);
  const walletIds = await walletIdsFromPostgres(db, options.codes);
  const startedAt = requests.reduce((first, r) => Math.min(first, r.sentAt), Infinity);
  return { fresh: true, requests, tickets, coupons, walletIds, startedAt, decidedAt, drainedAt };
}

export type ProbeAnswer = ClientAnswer;
export { issueRequest };

/** Whether a 503 is one a client can act on: a problem document with a Retry-After in whole seconds. */
export function isRetryLater(answer: ProbeAnswer): boolean {
  return (
    answer.status === 503 &&
    (answer.code === 'UNAVAILABLE' || answer.code === 'OVERLOADED') &&
    /^[1-9]\d*$/.test(answer.retryAfter ?? '') &&
    /^application\/problem\+json\b/.test(answer.contentType ?? '')
  );
}

/** "what status code" → how many, e.g. "issue 503 UNAVAILABLE" → 12. */
export function countAnswers(answers: readonly ProbeAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = `${a.what} ${a.status}${a.code ? ` ${a.code}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface OutageProbe {
  /** Stops probing and returns every answer. */
  stop(): Promise<ProbeAnswer[]>;
  /** Rounds completed so far (one round: every API asked once of each kind). */
  rounds(): number;
}

/**
 * While a dependency is down: every API, in rounds, gets an issue request from a new user, a
 * poll of a known ticket and a GET of the coupons, each with a client timeout, headers recorded.
 * Paced at a few rounds a second: it measures the contract, it is not load.
 */
export function startOutageProbe(
  cluster: ChaosCluster,
  known: { ticketId: string; userId: string; couponCode: string },
  timeoutMs: number,
): OutageProbe {
  const answers: ProbeAnswer[] = [];
  let rounds = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const round = cluster.apiUrls.flatMap((api) => [
        issueRequest(api, known.couponCode, crypto.randomUUID(), timeoutMs),
        call(api, 'ticket', `/v1/tickets/${known.ticketId}`, { userId: known.userId, couponCode: known.couponCode }, timeoutMs),
        call(api, 'coupons', '/v1/coupons', { userId: known.userId, couponCode: known.couponCode }, timeoutMs),
      ]);
      answers.push(...(await Promise.all(round)));
      rounds++;
      if (!stopped) await delay(200); // pacing, not synchronisation
    }
  })();
  return {
    rounds: () => rounds,
    async stop() {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

export interface RetryingClientsOptions {
  /** Give up on a client after this many attempts. */
  maxAttempts: number;
  timeoutMs: number;
}

/**
 * Every user asks at once (a surge far over the backlog bound); a client told 503 with a
 * Retry-After waits that long and asks again, as a well-behaved app would. Returns every attempt.
 */
export async function retryingClients(
  urls: readonly string[],
  users: readonly { userId: string; couponCode: string }[],
  options: RetryingClientsOptions,
): Promise<ProbeAnswer[]> {
  const attempts: ProbeAnswer[] = [];
  await Promise.all(
    users.map(async ({ userId, couponCode }, i) => {
      for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
        const answer = await issueRequest(urls[i % urls.length]!, couponCode, userId, options.timeoutMs);
        attempts.push(answer);
        if (answer.status !== 503 || !/^[1-9]\d*$/.test(answer.retryAfter ?? '')) return;
        await delay(Number(answer.retryAfter) * 1000); // the client honouring Retry-After
      }
    }),
  );
  return attempts;
}
