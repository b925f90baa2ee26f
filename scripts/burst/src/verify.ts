// The verifier: a pure function from what a burst observed to figures and failed invariants.
// No I/O, so the tests feed it crafted runs (an over-issue, a duplicate, an inversion, ...).
import { countInversions, isInLine, type AnsweredRequest } from '@coupons/shared/testing';
import type { BurstRun, CouponFacts, RecordedRequest, TicketOutcome } from './burst-run.ts';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface CouponVerdict {
  code: string;
  limit: number;
  /** Distinct users who sent at least one request for this coupon. */
  demandUsers: number;
  /** Distinct users who got in line: a ticket or a true SOLD_OUT. */
  usersInLine: number;
  requests: number;
  /** 202: first submissions. */
  admitted: number;
  /** 200: resubmissions answered with the existing ticket. */
  repeated: number;
  /** 409 SOLD_OUT. */
  soldOutAnswers: number;
  issued: number;
  issuedSource: CouponFacts['source'];
  /** Tickets of this run that ended issued / rejected / not final. */
  issuedTickets: number;
  rejectedTickets: number;
  unfinishedTickets: number;
  /** Unfinished tickets whose last poll answered 404: the API no longer knows a ticket it handed out. */
  lostTickets: number;
  /** Users holding two or more issued tickets, as the API answered them. */
  duplicateUsersApi: number;
  /** Users whose resubmission came back with a different ticket id. */
  usersWithSeveralTickets: number;
  /** Wallet rows minus distinct users in Postgres; null without Postgres. */
  duplicateWalletsPostgres: number | null;
  inversions: number;
  /** From the first request to the last issued ticket's issuedAt, when the coupon sold out. */
  soldOutAfterMs: number | null;
  /** From the first request to the first SOLD_OUT answer. */
  firstSoldOutAnswerMs: number | null;
}

export interface BurstVerdict {
  ok: boolean;
  /** One line per failed invariant. */
  failures: string[];
  coupons: CouponVerdict[];
  /** "202", "409 SOLD_OUT", "503 OVERLOADED", "no answer", ... → count. */
  statusCounts: Record<string, number>;
  requests: number;
  answered: number;
  unanswered: number;
  /** 5xx other than 503 OVERLOADED (which is backpressure, not an error). */
  serverErrors: number;
  overloaded: number;
  /** Answers other than 202, 200, 409 SOLD_OUT and 5xx: a valid request should never get them. */
  unexpectedAnswers: number;
  /** From the first request sent to the last answer. */
  burstMs: number;
  /** Answers per second over `burstMs`. */
  acceptRps: number;
  latency: LatencySummary;
  tickets: number;
  unfinishedTickets: number;
  /** From the first request to when polling saw the last ticket final; null if some never were. */
  allFinalAfterMs: number | null;
  /** From the first request to when the end of every line was seen final (see BurstRun.decidedAt). */
  decidedAfterMs: number | null;
}

/** Nearest-rank percentile of an ascending array (0 for an empty one). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Latency (answer - send) of the answered requests: p50, p90, p99, max. */
export function summarizeLatency(requests: readonly RecordedRequest[]): LatencySummary {
  const sorted = requests
    .filter((r) => r.answeredAt !== null)
    .map((r) => r.answeredAt! - r.sentAt)
    .sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

export function statusKey(request: Pick<RecordedRequest, 'status' | 'code'>): string {
  if (request.status === 0) return 'no answer';
  return request.code ? `${request.status} ${request.code}` : String(request.status);
}

const isFinal = (ticket: TicketOutcome | undefined): boolean => ticket?.status === 'issued' || ticket?.status === 'rejected';

function verifyCoupon(run: BurstRun, facts: CouponFacts, requests: RecordedRequest[], ticketsById: Map<string, TicketOutcome>, failures: string[]): CouponVerdict {
  const { code, limit, issued } = facts;
  const fail = (message: string) => failures.push(`${code}: ${message}`);

  const ticketIdsByUser = new Map<string, Set<string>>();
  const usersInLine = new Set<string>();
  let admitted = 0;
  let repeated = 0;
  let soldOutAnswers = 0;
  let firstSoldOutAnswer = Infinity;
  for (const request of requests) {
    if (request.status === 202) admitted++;
    if (request.status === 200) repeated++;
    if (request.status === 409 && request.code === 'SOLD_OUT') {
      soldOutAnswers++;
      firstSoldOutAnswer = Math.min(firstSoldOutAnswer, request.answeredAt!);
    }
    if (request.answeredAt !== null && isInLine(request as AnsweredRequest)) usersInLine.add(request.userId);
    if (request.ticketId) {
      const ids = ticketIdsByUser.get(request.userId) ?? new Set<string>();
      ids.add(request.ticketId);
      ticketIdsByUser.set(request.userId, ids);
    }
  }

  // Tickets come from the answers: one the API handed out but polling never saw final is unfinished.
  const winners = new Set<string>();
  let issuedTickets = 0;
  let rejectedTickets = 0;
  let unfinishedTickets = 0;
  let lostTickets = 0;
  let duplicateUsersApi = 0;
  let usersWithSeveralTickets = 0;
  let lastIssuedAt = -Infinity;
  for (const [userId, ticketIds] of ticketIdsByUser) {
    if (ticketIds.size > 1) usersWithSeveralTickets++;
    let issuedForUser = 0;
    for (const ticketId of ticketIds) {
      const ticket = ticketsById.get(ticketId);
      if (!isFinal(ticket)) {
        unfinishedTickets++;
        if (ticket?.lastPollStatus === 404) lostTickets++;
      }
      else if (ticket!.status === 'rejected') rejectedTickets++;
      else {
        issuedTickets++;
        issuedForUser++;
        winners.add(userId);
        if (ticket!.issuedAt !== undefined) lastIssuedAt = Math.max(lastIssuedAt, ticket!.issuedAt);
      }
    }
    if (issuedForUser > 1) duplicateUsersApi++;
  }

  const answered = requests.filter((r): r is RecordedRequest & { answeredAt: number } => r.answeredAt !== null);
  const inversions = countInversions(answered, winners);
  const duplicateWalletsPostgres =
    facts.wallets !== undefined && facts.distinctWalletUsers !== undefined ? facts.wallets - facts.distinctWalletUsers : null;

  // Never over.
  if (issued > limit) fail(`over-issued: ${issued} issued for a limit of ${limit}`);
  if (issuedTickets > limit) fail(`over-issued: ${issuedTickets} tickets ended issued for a limit of ${limit}`);
  if (facts.wallets !== undefined && facts.wallets !== issued) fail(`issued_quantity is ${issued} but Postgres holds ${facts.wallets} wallets`);
  // Unique.
  if (duplicateUsersApi > 0) fail(`${duplicateUsersApi} users hold two or more issued tickets`);
  if (usersWithSeveralTickets > 0) fail(`${usersWithSeveralTickets} users got a different ticket when resubmitting`);
  if (duplicateWalletsPostgres) fail(`${duplicateWalletsPostgres} duplicate wallets in Postgres (same user twice)`);
  // First come, first served.
  if (inversions > 0) fail(`${inversions} first-come inversions (answered earlier, lost; sent later, won)`);
  // Nothing lost.
  if (unfinishedTickets > 0) {
    fail(`${unfinishedTickets} tickets never reached a final state${lostTickets > 0 ? ` (${lostTickets} of them answered 404: lost)` : ''}`);
  }
  // Never under (judged once everything is decided).
  if (unfinishedTickets === 0) {
    if (usersInLine.size >= limit && issued < limit) fail(`under-issued: ${issued} of ${limit} issued though ${usersInLine.size} users asked`);
    else if (soldOutAnswers > 0 && issued < limit) fail(`SOLD_OUT answered ${soldOutAnswers} times but only ${issued} of ${limit} were issued`);
    // On a fresh database every coupon issued is one of ours: each must show up as an issued ticket.
    if (run.fresh && issued !== issuedTickets) fail(`${issuedTickets} tickets ended issued but ${facts.source} counts ${issued}`);
    if (run.fresh && usersInLine.size < limit && issuedTickets < ticketIdsByUser.size) {
      fail(`under-issued: ${issuedTickets} issued for ${ticketIdsByUser.size} users with tickets, limit ${limit}`);
    }
  }

  return {
    code,
    limit,
    demandUsers: new Set(requests.map((r) => r.userId)).size,
    usersInLine: usersInLine.size,
    requests: requests.length,
    admitted,
    repeated,
    soldOutAnswers,
    issued,
    issuedSource: facts.source,
    issuedTickets,
    rejectedTickets,
    unfinishedTickets,
    lostTickets,
    duplicateUsersApi,
    usersWithSeveralTickets,
    duplicateWalletsPostgres,
    inversions,
    soldOutAfterMs: issued >= limit && lastIssuedAt > -Infinity ? lastIssuedAt - run.startedAt : null,
    firstSoldOutAnswerMs: Number.isFinite(firstSoldOutAnswer) ? firstSoldOutAnswer - run.startedAt : null,
  };
}

/** Checks every invariant of the contract against one run; `failures` says which failed and how. */
export function verifyBurst(run: BurstRun): BurstVerdict {
  const failures: string[] = [];
  const ticketsById = new Map(run.tickets.map((ticket) => [ticket.ticketId, ticket]));

  const coupons = run.coupons.map((facts) =>
    verifyCoupon(run, facts, run.requests.filter((r) => r.couponCode === facts.code), ticketsById, failures),
  );
  const unknown = new Set(run.requests.map((r) => r.couponCode).filter((code) => !run.coupons.some((c) => c.code === code)));
  for (const code of unknown) failures.push(`${code}: requested, but no such coupon was found to verify against`);

  const statusCounts: Record<string, number> = {};
  let serverErrors = 0;
  let overloaded = 0;
  let unexpectedAnswers = 0;
  let lastAnswer = run.startedAt;
  for (const request of run.requests) {
    const key = statusKey(request);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
    if (request.answeredAt !== null) lastAnswer = Math.max(lastAnswer, request.answeredAt);
    if (request.status === 503 && request.code === 'OVERLOADED') overloaded++;
    else if (request.status >= 500) serverErrors++;
    else if (request.status !== 0 && request.status !== 202 && request.status !== 200 && !(request.status === 409 && request.code === 'SOLD_OUT')) {
      unexpectedAnswers++;
    }
  }
  const answered = run.requests.filter((r) => r.answeredAt !== null).length;
  const unanswered = run.requests.length - answered;
  if (serverErrors > 0) failures.push(`${serverErrors} server errors (5xx other than 503 OVERLOADED)`);
  if (unanswered > 0) failures.push(`${unanswered} requests got no answer (timeout or broken connection)`);
  if (unexpectedAnswers > 0) failures.push(`${unexpectedAnswers} unexpected answers to valid requests (see status counts)`);

  const unfinishedTickets = coupons.reduce((sum, c) => sum + c.unfinishedTickets, 0);
  const tickets = coupons.reduce((sum, c) => sum + c.issuedTickets + c.rejectedTickets + c.unfinishedTickets, 0);
  const lastFinalSeen = run.tickets.reduce((last, t) => Math.max(last, t.finalSeenAt ?? -Infinity), run.startedAt);
  const burstMs = lastAnswer - run.startedAt;
  return {
    ok: failures.length === 0,
    failures,
    coupons,
    statusCounts,
    requests: run.requests.length,
    answered,
    unanswered,
    serverErrors,
    overloaded,
    unexpectedAnswers,
    burstMs,
    acceptRps: burstMs > 0 ? (answered * 1000) / burstMs : 0,
    latency: summarizeLatency(run.requests),
    tickets,
    unfinishedTickets,
    allFinalAfterMs: unfinishedTickets === 0 ? lastFinalSeen - run.startedAt : null,
    decidedAfterMs: unfinishedTickets === 0 && run.decidedAt != null ? run.decidedAt - run.startedAt : null,
  };
}
