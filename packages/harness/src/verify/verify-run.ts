// The one invariant checker: a pure function from what a run observed to figures and failed
// invariants. No I/O, so tests feed it crafted runs (an over-issue, a duplicate, an inversion,
// a flushed Redis, ...). The burst, every chaos scenario and the process tests judge with it.
//
// Always failures: over-issue, a wallet count that disagrees with issued_quantity, a user with
// two coupons, a first-come inversion among users whose place in line survived, a ticket stuck
// unfinished, a false SOLD_OUT, an under-issue, a 5xx other than the 503s the contract allows, a
// request left without an answer (a hang), an unexpected answer to a valid request.
// Excused only by a named fault (FaultRules), and then stated in `inherent`: 503 UNAVAILABLE
// while a dependency is down; a second ticket after the dedupe state was lost; the tickets a
// flushed Redis took with it; the acknowledged admissions a Redis that went back in time lost.
import { wasAnswered, type RecordedRequest } from '../load/index.ts';
import type { FaultRules } from './fault-rules.ts';
import { countInversions, isInLine, placeInLine } from './first-come.ts';
import { statusKey, summarizeLatency, type LatencySummary } from './latency.ts';
import { isFinal, type CouponFacts, type ObservedRun, type TicketOutcome } from './observed-run.ts';

export interface CouponVerdict {
  code: string;
  limit: number;
  /** Distinct users who sent at least one request for this coupon. */
  demandUsers: number;
  /** Distinct users who got in line (a ticket or a true SOLD_OUT) and whose place survived. */
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
  /** First-come inversions among users whose place in line survived the run's fault. */
  inversions: number;
  /** From the first request to the last issued ticket's issuedAt, when the coupon sold out. */
  soldOutAfterMs: number | null;
  /** From the first request to the first SOLD_OUT answer. */
  firstSoldOutAnswerMs: number | null;
}

export interface RunVerdict {
  ok: boolean;
  /** One line per failed invariant. */
  failures: string[];
  /** Losses the run's fault explains (FaultRules), stated, not failed. */
  inherent: string[];
  /** Oddities worth a line in a report that break nothing. */
  notes: string[];
  coupons: CouponVerdict[];
  /** "202", "409 SOLD_OUT", "503 OVERLOADED", "no answer", ... → count. */
  statusCounts: Record<string, number>;
  requests: number;
  answered: number;
  unanswered: number;
  /** 5xx other than 503 OVERLOADED (backpressure) and 503 UNAVAILABLE (a dependency away). */
  serverErrors: number;
  overloaded: number;
  unavailable: number;
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
  /** From the first request to when the end of every line was seen final (see ObservedRun.decidedAt). */
  decidedAfterMs: number | null;
}

interface Findings {
  fail(message: string): void;
  inherent(message: string): void;
  note(message: string): void;
}

const SOURCE_NAME: Record<CouponFacts['source'], string> = { postgres: 'Postgres', api: 'the API' };

/** The fate of each ticket a coupon's answers handed out, as polling left it. */
function classifyTickets(run: ObservedRun, requests: readonly RecordedRequest[], ticketsById: Map<string, TicketOutcome>, rules: FaultRules) {
  const ticketIdsByUser = new Map<string, Set<string>>();
  for (const r of requests) if (r.ticketId) ticketIdsByUser.set(r.userId, (ticketIdsByUser.get(r.userId) ?? new Set()).add(r.ticketId));
  const fate = { issued: 0, rejected: 0, unfinished: 0, lost404: 0, gone: 0, invisibleWinners: 0, stuck: 0, withoutWallet: 0 };
  const stuckBy: Record<string, number> = {};
  const winners = new Set<string>();
  /** Users with a ticket that never became final: their place in line did not survive. */
  const lostUsers = new Set<string>();
  let duplicateUsersApi = 0;
  let lastIssuedAt = -Infinity;
  for (const [userId, ticketIds] of ticketIdsByUser) {
    let issuedForUser = 0;
    for (const ticketId of ticketIds) {
      const ticket = ticketsById.get(ticketId);
      if (ticket?.status === 'rejected') fate.rejected++;
      else if (ticket?.status === 'issued') {
        fate.issued++;
        issuedForUser++;
        winners.add(userId);
        if (ticket.issuedAt !== undefined) lastIssuedAt = Math.max(lastIssuedAt, ticket.issuedAt);
        if (run.walletIds && !run.walletIds.has(ticketId)) fate.withoutWallet++;
      } else {
        fate.unfinished++;
        lostUsers.add(userId);
        const answered404 = ticket?.lastPollStatus === 404;
        if (answered404) fate.lost404++;
        const hasWallet = run.walletIds?.has(ticketId) ?? false;
        if (answered404 && hasWallet && (rules.redisFlushed || rules.rewound)) fate.invisibleWinners++;
        else if (answered404 && (rules.redisFlushed || rules.rewound?.lost.has(ticketId))) fate.gone++;
        else {
          fate.stuck++;
          const how =
            ticket?.lastPollStatus !== undefined ? `poll ${ticket.lastPollStatus}${ticket.status ? ` ${ticket.status}` : ''}` : ticket?.status ? `still ${ticket.status}` : 'never polled';
          stuckBy[how] = (stuckBy[how] ?? 0) + 1;
        }
      }
    }
    if (issuedForUser > 1) duplicateUsersApi++;
  }
  return { ticketIdsByUser, fate, stuckBy, winners, lostUsers, duplicateUsersApi, lastIssuedAt };
}

/** Users handed a second ticket when asking again: a failure unless the fault lost their first. */
function judgeSecondTickets(ticketIdsByUser: Map<string, Set<string>>, rules: FaultRules, found: Findings): number {
  const several = [...ticketIdsByUser.values()].filter((ids) => ids.size > 1);
  if (several.length === 0) return 0;
  if (rules.rewound) {
    // Only a user whose ticket the fault lost may be handed another; a survivor asking again gets the same one.
    const afterLoss = several.filter((ids) => [...ids].some((id) => rules.rewound!.lost.has(id))).length;
    const survivors = several.length - afterLoss;
    if (afterLoss) found.inherent(`${afterLoss} users whose ticket was lost got a new one when resubmitting`);
    if (survivors) found.fail(`${survivors} users whose first ticket survived got a second ticket when resubmitting`);
  } else if (rules.secondTicketsExpected || rules.redisFlushed) {
    found.inherent(`${several.length} users got a second ticket when resubmitting (the dedupe state was lost; no second coupon)`);
  } else {
    found.fail(`${several.length} users got a second ticket when resubmitting`);
  }
  return several.length;
}

function verifyCoupon(run: ObservedRun, facts: CouponFacts, requests: RecordedRequest[], ticketsById: Map<string, TicketOutcome>, rules: FaultRules, found: Findings): CouponVerdict {
  const { code, limit, issued } = facts;
  const answered = requests.filter(wasAnswered);
  const soldOut = answered.filter((r) => r.status === 409 && r.code === 'SOLD_OUT');
  const { ticketIdsByUser, fate, stuckBy, winners, lostUsers, duplicateUsersApi, lastIssuedAt } = classifyTickets(run, requests, ticketsById, rules);
  const duplicateWalletsPostgres = facts.wallets !== undefined && facts.distinctWalletUsers !== undefined ? facts.wallets - facts.distinctWalletUsers : null;

  // Never over, and Postgres agrees with itself.
  if (issued > limit) found.fail(`over-issued: ${issued} issued for a limit of ${limit}`);
  if (fate.issued > limit) found.fail(`over-issued: ${fate.issued} tickets ended issued for a limit of ${limit}`);
  if (facts.wallets !== undefined && facts.wallets !== issued) found.fail(`issued_quantity is ${issued} but Postgres holds ${facts.wallets} wallets`);
  if (fate.withoutWallet) found.fail(`${fate.withoutWallet} tickets ended issued with no wallet of their id in Postgres`);
  // Unique.
  if (duplicateUsersApi > 0) found.fail(`${duplicateUsersApi} users hold two or more issued tickets`);
  if (duplicateWalletsPostgres) found.fail(`${duplicateWalletsPostgres} duplicate wallets in Postgres (same user twice)`);
  const usersWithSeveralTickets = judgeSecondTickets(ticketIdsByUser, rules, found);

  // Nothing lost: every ticket final, but for the ones the fault took.
  if (fate.gone) found.inherent(`${fate.gone} tickets lost with the ${rules.rewound ? 'older Redis state (acknowledged admissions lost' : 'flushed Redis (polls answer 404'})`);
  if (fate.invisibleWinners) found.fail(`${fate.invisibleWinners} winners' tickets answer 404 though Postgres holds their wallets (the rebuild did not restore them)`);
  if (fate.stuck) found.fail(`${fate.stuck} tickets never reached a final state (${Object.entries(stuckBy).map(([how, n]) => `${how}: ${n}`).join(', ')})`);

  // First come, first served, among users whose place in line survived.
  const kept = answered.filter((r) => !lostUsers.has(r.userId));
  const { placed, admittedUnanswered } = placeInLine(kept);
  const inversions = countInversions(placed, winners);
  if (inversions) found.fail(`${inversions} first-come inversions (answered earlier, lost; sent later, won)`);
  if (rules.redisFlushed || rules.rewound) {
    const withLost = countInversions(answered, winners) - inversions;
    if (withLost > 0) found.inherent(`${withLost} inversions against users whose place in line was flushed away`);
  }
  if (admittedUnanswered) {
    found.note(`${admittedUnanswered} users were admitted by a request answered 503 or not at all (a resubmission got 200 with that ticket), placed in line by that request`);
  }

  // Never under, and SOLD_OUT is always true: judged once nothing is stuck.
  const usersInLine = new Set(kept.filter(isInLine).map((r) => r.userId)).size;
  if (fate.stuck === 0) {
    if (usersInLine >= limit && issued < limit) found.fail(`under-issued: ${issued} of ${limit} issued though ${usersInLine} users asked`);
    else if (soldOut.length > 0 && issued < limit) found.fail(`SOLD_OUT answered ${soldOut.length} times but only ${issued} of ${limit} were issued`);
    if (run.fresh) {
      // On a fresh database every coupon issued is one of ours: each must show up as an issued ticket.
      const silent = run.silentWinners?.[code] ?? 0;
      const unexplained = issued - fate.issued - silent - fate.invisibleWinners;
      if (unexplained > 0) {
        found.fail(`${SOURCE_NAME[facts.source]} issued ${issued} but only ${fate.issued} tickets ended issued${silent ? ` (+${silent} answered 503, found on asking again)` : ''}: ${unexplained} winners cannot see their ticket`);
      }
      if (issued < fate.issued) found.fail(`${fate.issued} tickets ended issued but ${SOURCE_NAME[facts.source]} issued only ${issued}`);
      const withTickets = new Set(kept.filter((r) => r.ticketId).map((r) => r.userId)).size;
      const keptWinners = [...winners].filter((userId) => !lostUsers.has(userId)).length;
      if (usersInLine < limit && keptWinners < withTickets) found.fail(`under-issued: ${keptWinners} winners among ${withTickets} users with tickets, limit ${limit}`);
    }
  }

  return {
    code,
    limit,
    demandUsers: new Set(requests.map((r) => r.userId)).size,
    usersInLine,
    requests: requests.length,
    admitted: requests.filter((r) => r.status === 202).length,
    repeated: requests.filter((r) => r.status === 200).length,
    soldOutAnswers: soldOut.length,
    issued,
    issuedSource: facts.source,
    issuedTickets: fate.issued,
    rejectedTickets: fate.rejected,
    unfinishedTickets: fate.unfinished,
    lostTickets: fate.lost404,
    duplicateUsersApi,
    usersWithSeveralTickets,
    duplicateWalletsPostgres,
    inversions,
    soldOutAfterMs: issued >= limit && lastIssuedAt > -Infinity ? lastIssuedAt - run.startedAt : null,
    firstSoldOutAnswerMs: soldOut.length ? soldOut.reduce((first, r) => Math.min(first, r.answeredAt), Infinity) - run.startedAt : null,
  };
}

/** How the answers break down, and which of them the contract does not allow. */
function judgeAnswers(run: ObservedRun, rules: FaultRules, found: Findings) {
  const statusCounts: Record<string, number> = {};
  const counts = { serverErrors: 0, overloaded: 0, unavailable: 0, unexpectedAnswers: 0, operatorStopped: 0 };
  let lastAnswer = run.startedAt;
  for (const request of run.requests) {
    const key = statusKey(request);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
    if (request.answeredAt !== null) lastAnswer = Math.max(lastAnswer, request.answeredAt);
    if (request.status === 503 && request.code === 'OVERLOADED') counts.overloaded++;
    else if (request.status === 503 && request.code === 'UNAVAILABLE') counts.unavailable++;
    else if (request.status >= 500) counts.serverErrors++;
    else if (rules.operatorStopped && request.status === 409 && (request.code === 'EVENT_PAUSED' || request.code === 'EVENT_NOT_OPEN')) counts.operatorStopped++;
    else if (request.status !== 0 && request.status !== 202 && request.status !== 200 && !(request.status === 409 && request.code === 'SOLD_OUT')) {
      counts.unexpectedAnswers++;
    }
  }
  const answered = run.requests.filter(wasAnswered).length;
  const unanswered = run.requests.length - answered;
  if (counts.serverErrors) found.fail(`${counts.serverErrors} server errors (5xx other than 503 OVERLOADED / UNAVAILABLE)`);
  if (counts.unavailable && !rules.unavailableExpected) found.fail(`${counts.unavailable} answers 503 UNAVAILABLE with every dependency up`);
  if (unanswered) found.fail(`${unanswered} requests got no answer (a hang past the client timeout, or a broken connection)`);
  if (counts.unexpectedAnswers) found.fail(`${counts.unexpectedAnswers} unexpected answers to valid requests (see status counts)`);
  if (counts.operatorStopped) found.inherent(`${counts.operatorStopped} answers 409 EVENT_PAUSED / EVENT_NOT_OPEN while an operator had paused or closed the event`);
  return { statusCounts, ...counts, answered, unanswered, lastAnswer };
}

/** Checks every invariant of the contract against one run, excusing only what `rules` name. */
export function verifyRun(run: ObservedRun, rules: FaultRules = {}): RunVerdict {
  const failures: string[] = [];
  const inherent: string[] = [];
  const notes: string[] = [];
  const ticketsById = new Map(run.tickets.map((ticket) => [ticket.ticketId, ticket]));

  const coupons = run.coupons.map((facts) => {
    const found: Findings = {
      fail: (message) => failures.push(`${facts.code}: ${message}`),
      inherent: (message) => inherent.push(`${facts.code}: ${message}`),
      note: (message) => notes.push(`${facts.code}: ${message}`),
    };
    return verifyCoupon(run, facts, run.requests.filter((r) => r.couponCode === facts.code), ticketsById, rules, found);
  });
  const unknown = new Set(run.requests.map((r) => r.couponCode).filter((code) => !run.coupons.some((c) => c.code === code)));
  for (const code of unknown) failures.push(`${code}: requested, but no such coupon was found to verify against`);

  const answers = judgeAnswers(run, rules, { fail: (message) => failures.push(message), inherent: (message) => inherent.push(message), note: (message) => notes.push(message) });
  const unfinishedTickets = coupons.reduce((sum, c) => sum + c.unfinishedTickets, 0);
  const tickets = coupons.reduce((sum, c) => sum + c.issuedTickets + c.rejectedTickets + c.unfinishedTickets, 0);
  const lastFinalSeen = run.tickets.reduce((last, t) => Math.max(last, t.finalSeenAt ?? -Infinity), run.startedAt);
  const burstMs = answers.lastAnswer - run.startedAt;
  return {
    ok: failures.length === 0,
    failures,
    inherent,
    notes,
    coupons,
    statusCounts: answers.statusCounts,
    requests: run.requests.length,
    answered: answers.answered,
    unanswered: answers.unanswered,
    serverErrors: answers.serverErrors,
    overloaded: answers.overloaded,
    unavailable: answers.unavailable,
    unexpectedAnswers: answers.unexpectedAnswers,
    burstMs,
    acceptRps: burstMs > 0 ? (answers.answered * 1000) / burstMs : 0,
    latency: summarizeLatency(run.requests),
    tickets,
    unfinishedTickets,
    allFinalAfterMs: unfinishedTickets === 0 ? lastFinalSeen - run.startedAt : null,
    decidedAfterMs: unfinishedTickets === 0 && run.decidedAt != null ? run.decidedAt - run.startedAt : null,
  };
}
