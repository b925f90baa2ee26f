// The chaos verdict on one scenario: @coupons/burst's verifier gives the figures per coupon;
// this decides which of them violate the contract under *this* fault. Pure (no I/O), so the
// tests feed it crafted observations.
//
// Always violations: over-issue, a wallet count that disagrees with issued_quantity, a user
// with two coupons, a first-come inversion among users whose place in line survived, a ticket
// stuck queued, a false SOLD_OUT, a 5xx other than a 503 the contract allows, a request left
// without an answer (a hang), an unexpected 4xx.
// Allowed by the fault, and reported: 503 UNAVAILABLE while a dependency is down (3); a second
// ticket for a user who resubmitted after the dedupe state was lost (6); when Redis was
// flushed (6b), the tickets that went with it (polls answer 404) and what follows from that;
// when Redis went back in time (8, 9: an old snapshot, a promoted replica), the acknowledged
// admissions it lost — counted exactly, and nothing else may poll 404 or get a second ticket.
import { countInversions, isInLine, type AnsweredRequest } from '@coupons/shared/testing';
import type { CouponFacts, RecordedRequest, TicketOutcome } from '@coupons/burst/burst-run';
import type { BurstVerdict } from '@coupons/burst/verify';

export interface JudgeRules {
  /** A dependency was down: 503 UNAVAILABLE (with Retry-After) is the contract, not an error. */
  unavailableExpected?: boolean;
  /** The per-user dedupe was lost: a resubmission may get a second ticket (never a second coupon). */
  secondTicketsExpected?: boolean;
  /** Redis was flushed: tickets admitted before the flush are gone, and users' places in line with them. */
  redisFlushed?: boolean;
  /**
   * Redis went back in time (restored from an older snapshot, or an asynchronous replica
   * promoted): `lost` are the tickets answered 202 before the fault that neither Redis (right
   * after it) nor Postgres (a wallet) kept — see countLostAdmissions. Only those may poll 404,
   * and only their users may get a second ticket; every other ticket must end final.
   */
  rewound?: { lost: ReadonlySet<string> };
}

export interface LostAdmissions {
  /** Tickets answered 202 before the fault. */
  acknowledged: number;
  /** ... of which Redis still held the ticket hash right after the fault. */
  survivedInRedis: number;
  /** ... of which Redis had lost the ticket, but Postgres holds its wallet (answered from Postgres). */
  survivedAsWallet: number;
  /** ... neither: the acknowledged admissions the fault lost. */
  lost: Set<string>;
}

/**
 * The admissions a Redis that went back in time lost: answered 202 before the fault (`before`),
 * the ticket hash not in Redis right after it (`inRedis`: ids whose hash exists there), and no
 * wallet in Postgres (`walletIds`: a wallet's id is its ticket's). Pure.
 */
export function countLostAdmissions(before: readonly Pick<RecordedRequest, 'status' | 'ticketId'>[], inRedis: ReadonlySet<string>, walletIds: ReadonlySet<string>): LostAdmissions {
  const acknowledged = new Set(before.filter((r) => r.status === 202 && r.ticketId).map((r) => r.ticketId!));
  const result: LostAdmissions = { acknowledged: acknowledged.size, survivedInRedis: 0, survivedAsWallet: 0, lost: new Set() };
  for (const id of acknowledged) {
    if (inRedis.has(id)) result.survivedInRedis++;
    else if (walletIds.has(id)) result.survivedAsWallet++;
    else result.lost.add(id);
  }
  return result;
}

export interface CouponFigures {
  code: string;
  limit: number;
  issued: number;
}

export interface RowFigures {
  requests: number;
  /** 202 answers: new tickets. */
  accepted: number;
  coupons: CouponFigures[];
  /** Duplicate wallets in Postgres plus users holding two issued tickets. */
  duplicates: number;
  inversions: number;
  /** Tickets handed out that never reached a final state. */
  ticketsLost: number;
  /** 5xx the contract does not allow (a 500, a 503 that is not OVERLOADED/UNAVAILABLE where allowed, ...). */
  serverErrors: number;
  unavailable: number;
  overloaded: number;
  unanswered: number;
  /** Answers per second during the burst. */
  acceptRps: number;
}

export interface Judgement {
  figures: RowFigures;
  violations: string[];
  /** Losses and oddities the fault itself explains (6b), stated, not failed. */
  inherent: string[];
  notes: string[];
}

export interface JudgedRun {
  requests: readonly RecordedRequest[];
  tickets: readonly TicketOutcome[];
  facts: readonly CouponFacts[];
  verdict: BurstVerdict;
  /**
   * Per coupon: winners who were answered only 503 (admitted as Redis went away) and got their
   * issued ticket when they asked again. They hold a wallet no polled ticket shows.
   */
  silentWinners?: Record<string, number>;
  /** Ids of the wallets in Postgres (a wallet's id is its winning ticket's): a ticket that won must never be lost. */
  walletIds?: ReadonlySet<string>;
}

const isFinal = (ticket: TicketOutcome | undefined) => ticket?.status === 'issued' || ticket?.status === 'rejected';

/**
 * Where each user stands in line, for the first-come count. A user whose first answer in line is
 * a 200 ("your existing ticket") was admitted by an earlier request that was answered 503 or not
 * at all (Redis went away between admitting it and answering). That request, not the 200, put
 * them in line: their place is taken from it (the latest such request before the 200, so a
 * real inversion is never hidden).
 */
export function placeInLine<T extends RecordedRequest>(requests: readonly T[]): { placed: T[]; admittedUnanswered: number } {
  const byUser = new Map<string, T[]>();
  for (const r of requests) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r]);
  let admittedUnanswered = 0;
  const placed = [...byUser.values()].flatMap((mine) => {
    const ordered = [...mine].sort((a, b) => a.sentAt - b.sentAt);
    const first = ordered.findIndex((r) => r.answeredAt !== null && isInLine(r as unknown as AnsweredRequest));
    const unanswered = ordered.slice(0, Math.max(0, first)).filter((r) => r.status === 0 || r.status >= 500);
    if (first < 0 || ordered[first]!.status !== 200 || unanswered.length === 0) return ordered;
    admittedUnanswered++;
    return ordered.map((r, i) => (i === first ? { ...r, sentAt: unanswered.at(-1)!.sentAt } : r));
  });
  return { placed, admittedUnanswered };
}

export function judge(run: JudgedRun, rules: JudgeRules = {}): Judgement {
  const violations: string[] = [];
  const inherent: string[] = [];
  const notes: string[] = [];
  const ticketsById = new Map(run.tickets.map((t) => [t.ticketId, t]));
  const inversionsByCoupon = new Map<string, number>();

  for (const c of run.verdict.coupons) {
    const fail = (message: string) => violations.push(`${c.code}: ${message}`);
    const facts = run.facts.find((f) => f.code === c.code);
    const requests = run.requests.filter((r) => r.couponCode === c.code);

    // Never over, and Postgres agrees with itself.
    if (c.issued > c.limit) fail(`over-issued: ${c.issued} for a limit of ${c.limit}`);
    if (c.issuedTickets > c.limit) fail(`over-issued: ${c.issuedTickets} tickets ended issued for a limit of ${c.limit}`);
    if (facts?.wallets !== undefined && facts.wallets !== c.issued) fail(`issued_quantity ${c.issued} but ${facts.wallets} wallet rows`);
    // Unique.
    if (c.duplicateWalletsPostgres) fail(`${c.duplicateWalletsPostgres} duplicate wallets in Postgres`);
    if (c.duplicateUsersApi) fail(`${c.duplicateUsersApi} users hold two issued tickets`);
    if (rules.rewound) {
      // Only a user whose ticket the fault lost may be handed another; a survivor asking again gets the same one.
      const ticketsOfUser = new Map<string, Set<string>>();
      for (const r of requests) if (r.ticketId) ticketsOfUser.set(r.userId, (ticketsOfUser.get(r.userId) ?? new Set()).add(r.ticketId));
      let afterLoss = 0;
      let survivors = 0;
      for (const ids of ticketsOfUser.values()) {
        if (ids.size < 2) continue;
        if ([...ids].some((id) => rules.rewound!.lost.has(id))) afterLoss++;
        else survivors++;
      }
      if (afterLoss) inherent.push(`${c.code}: ${afterLoss} users whose ticket was lost got a new one when resubmitting`);
      if (survivors) fail(`${survivors} users whose first ticket survived got a second ticket when resubmitting`);
    } else if (c.usersWithSeveralTickets) {
      const line = `${c.usersWithSeveralTickets} users got a second ticket when resubmitting`;
      if (rules.secondTicketsExpected || rules.redisFlushed) inherent.push(`${c.code}: ${line} (the dedupe state was lost; no second coupon)`);
      else fail(line);
    }

    // Users whose place in line Redis lost (flush): a ticket of theirs never became final and polls 404.
    const lostUsers = new Set<string>();
    let gone = 0;
    let invisibleWinners = 0;
    let stuck = 0;
    const stuckBy: Record<string, number> = {};
    for (const r of requests) {
      if (!r.ticketId) continue;
      const ticket = ticketsById.get(r.ticketId);
      if (isFinal(ticket)) continue;
      lostUsers.add(r.userId);
    }
    for (const ticketId of new Set(requests.filter((r) => r.ticketId).map((r) => r.ticketId!))) {
      const ticket = ticketsById.get(ticketId);
      if (isFinal(ticket)) continue;
      if (rules.redisFlushed && ticket?.lastPollStatus === 404) {
        if (run.walletIds?.has(ticketId)) invisibleWinners++;
        else gone++;
      } else if (rules.rewound && ticket?.lastPollStatus === 404 && run.walletIds?.has(ticketId)) {
        invisibleWinners++;
      } else if (rules.rewound?.lost.has(ticketId) && ticket?.lastPollStatus === 404) {
        gone++;
      } else {
        stuck++;
        const how = ticket?.lastPollStatus === undefined ? 'never polled' : `poll ${ticket.lastPollStatus}${ticket.status ? ` ${ticket.status}` : ''}`;
        stuckBy[how] = (stuckBy[how] ?? 0) + 1;
      }
    }
    if (gone) inherent.push(`${c.code}: ${gone} tickets lost with the ${rules.rewound ? 'older Redis state (acknowledged admissions lost' : 'flushed Redis (polls answer 404'})`);
    if (invisibleWinners) fail(`${invisibleWinners} winners' tickets answer 404 though Postgres holds their wallets (the rebuild did not restore them)`);
    if (stuck) fail(`${stuck} tickets never reached a final state (${Object.entries(stuckBy).map(([how, n]) => `${how}: ${n}`).join(', ')})`);

    // First come, first served, among users whose place in line survived.
    const kept = requests.filter((r): r is RecordedRequest & { answeredAt: number } => r.answeredAt !== null && !lostUsers.has(r.userId));
    const winners = new Set(
      requests.filter((r) => r.ticketId && ticketsById.get(r.ticketId)?.status === 'issued').map((r) => r.userId),
    );
    const { placed, admittedUnanswered } = placeInLine(kept);
    const inversions = countInversions(placed as AnsweredRequest[], winners);
    inversionsByCoupon.set(c.code, inversions);
    if (inversions) fail(`${inversions} first-come inversions`);
    if ((rules.redisFlushed || rules.rewound) && c.inversions > inversions) {
      inherent.push(`${c.code}: ${c.inversions - inversions} inversions against users whose place in line was flushed away`);
    }
    if (admittedUnanswered) {
      notes.push(`${c.code}: ${admittedUnanswered} users were admitted by a request answered 503 or not at all (a resubmission got 200 with that ticket), placed in line by that request`);
    }

    // Never under, and SOLD_OUT is always true: judged once nothing is stuck.
    if (stuck === 0) {
      const inLine = new Set(kept.filter((r) => isInLine(r as AnsweredRequest)).map((r) => r.userId)).size;
      const withTickets = new Set(kept.filter((r) => r.ticketId).map((r) => r.userId)).size;
      if (inLine >= c.limit && c.issued < c.limit) fail(`under-issued: ${c.issued} of ${c.limit} though ${inLine} users asked`);
      if (c.soldOutAnswers > 0 && c.issued < c.limit) fail(`SOLD_OUT answered ${c.soldOutAnswers} times but only ${c.issued} of ${c.limit} issued`);
      const silent = run.silentWinners?.[c.code] ?? 0;
      const unexplained = c.issued - c.issuedTickets - silent - invisibleWinners;
      if (unexplained > 0) {
        fail(`Postgres issued ${c.issued} but only ${c.issuedTickets} tickets ended issued${silent ? ` (+${silent} answered 503, found on asking again)` : ''}: ${unexplained} winners cannot see their ticket`);
      }
      if (c.issued < c.issuedTickets) fail(`${c.issuedTickets} tickets ended issued but Postgres issued only ${c.issued}`);
      const keptWinners = [...winners].filter((userId) => !lostUsers.has(userId)).length;
      if (inLine < c.limit && keptWinners < withTickets) fail(`under-issued: ${keptWinners} winners among ${withTickets} users with tickets, limit ${c.limit}`);
    }
  }

  let serverErrors = 0;
  let unavailable = 0;
  let overloaded = 0;
  let accepted = 0;
  for (const r of run.requests) {
    if (r.status === 202) accepted++;
    if (r.status === 503 && r.code === 'OVERLOADED') overloaded++;
    else if (r.status === 503 && r.code === 'UNAVAILABLE') unavailable++;
    else if (r.status >= 500) serverErrors++;
  }
  if (serverErrors) violations.push(`${serverErrors} server errors (5xx other than 503 OVERLOADED / UNAVAILABLE)`);
  if (unavailable && !rules.unavailableExpected) violations.push(`${unavailable} answers 503 UNAVAILABLE with every dependency up`);
  if (run.verdict.unanswered) violations.push(`${run.verdict.unanswered} requests got no answer within the client timeout (a hang)`);
  if (run.verdict.unexpectedAnswers) violations.push(`${run.verdict.unexpectedAnswers} unexpected answers to valid requests`);

  const coupons = run.verdict.coupons;
  return {
    figures: {
      requests: run.requests.length,
      accepted,
      coupons: coupons.map(({ code, limit, issued }) => ({ code, limit, issued })),
      duplicates: coupons.reduce((sum, c) => sum + (c.duplicateWalletsPostgres ?? 0) + c.duplicateUsersApi, 0),
      inversions: coupons.reduce((sum, c) => sum + (inversionsByCoupon.get(c.code) ?? c.inversions), 0),
      ticketsLost: coupons.reduce((sum, c) => sum + c.unfinishedTickets, 0),
      serverErrors,
      unavailable,
      overloaded,
      unanswered: run.verdict.unanswered,
      acceptRps: run.verdict.acceptRps,
    },
    violations,
    inherent,
    notes,
  };
}
