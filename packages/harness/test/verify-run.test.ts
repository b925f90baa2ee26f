import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../src/load/index.ts';
import { percentile, verifyRun, type CouponFacts, type ObservedRun, type TicketOutcome } from '../src/verify/index.ts';

/** A crafted run, its arrays mutable for the cases below. */
type BurstRun = ObservedRun & { requests: RecordedRequest[]; tickets: TicketOutcome[] };

// A crafted run on coupon T1 (limit 3), times in ms from 0. In the clean version, u1..u4 get
// tickets in that order, u1..u3 win, u4 is rejected, u5 is answered SOLD_OUT, and u1 resubmits.
const START = 1_000_000;

function request(userId: string, sentAt: number, status: number, extra: Partial<RecordedRequest> = {}): RecordedRequest {
  return { userId, couponCode: 'T1', sentAt: START + sentAt, answeredAt: START + sentAt + 5, status, ...extra };
}

function ticket(ticketId: string, userId: string, status: TicketOutcome['status'], at: number): TicketOutcome {
  return {
    ticketId,
    userId,
    couponCode: 'T1',
    status,
    ...(status === 'issued' && { issuedAt: START + at }),
    ...(status !== 'queued' && status !== null && { finalSeenAt: START + at + 10 }),
  };
}

function cleanRun(): BurstRun {
  return {
    fresh: true,
    startedAt: START,
    requests: [
      request('u1', 0, 202, { ticketId: 't1' }),
      request('u2', 10, 202, { ticketId: 't2' }),
      request('u3', 20, 202, { ticketId: 't3' }),
      request('u1', 25, 200, { ticketId: 't1' }),
      request('u4', 30, 202, { ticketId: 't4' }),
      request('u5', 40, 409, { code: 'SOLD_OUT' }),
    ],
    tickets: [ticket('t1', 'u1', 'issued', 50), ticket('t2', 'u2', 'issued', 51), ticket('t3', 'u3', 'issued', 52), ticket('t4', 'u4', 'rejected', 53)],
    coupons: [{ code: 'T1', limit: 3, issued: 3, source: 'postgres', wallets: 3, distinctWalletUsers: 3 }],
  };
}

const withFacts = (run: BurstRun, facts: Partial<CouponFacts>): BurstRun => ({ ...run, coupons: [{ ...run.coupons[0]!, ...facts }] });
const setTicket = (run: BurstRun, ticketId: string, change: Partial<TicketOutcome>): BurstRun => ({
  ...run,
  tickets: run.tickets.map((t) => (t.ticketId === ticketId ? { ...t, ...change } : t)),
});

describe('verifyRun', () => {
  it('passes a clean run and reports its figures', () => {
    const verdict = verifyRun(cleanRun());
    expect(verdict.failures).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.coupons[0]).toMatchObject({
      code: 'T1',
      demandUsers: 5,
      usersInLine: 5,
      requests: 6,
      admitted: 4,
      repeated: 1,
      soldOutAnswers: 1,
      issued: 3,
      issuedTickets: 3,
      rejectedTickets: 1,
      unfinishedTickets: 0,
      duplicateUsersApi: 0,
      duplicateWalletsPostgres: 0,
      inversions: 0,
      soldOutAfterMs: 52,
      firstSoldOutAnswerMs: 45,
    });
    expect(verdict.statusCounts).toEqual({ '202': 4, '200': 1, '409 SOLD_OUT': 1 });
    expect(verdict.tickets).toBe(4);
    expect(verdict.allFinalAfterMs).toBe(63);
    expect(verdict.decidedAfterMs).toBeNull();
    expect(verifyRun({ ...cleanRun(), decidedAt: START + 60 }).decidedAfterMs).toBe(60);
    expect(verdict.burstMs).toBe(45);
    expect(verdict.latency).toEqual({ count: 6, p50: 5, p90: 5, p99: 5, max: 5 });
  });

  it('flags an over-issue, from Postgres and from the tickets', () => {
    const run = withFacts(setTicket(cleanRun(), 't4', { status: 'issued', issuedAt: START + 53 }), { issued: 4, wallets: 4, distinctWalletUsers: 4 });
    const verdict = verifyRun(run);
    expect(verdict.ok).toBe(false);
    expect(verdict.failures).toContain('T1: over-issued: 4 issued for a limit of 3');
    expect(verdict.failures).toContain('T1: over-issued: 4 tickets ended issued for a limit of 3');
  });

  it('flags a duplicate: one user with two issued tickets, and two wallet rows in Postgres', () => {
    const run = cleanRun();
    // u1's resubmission came back with a second ticket, and both were issued (u3 lost its place).
    run.requests[3] = request('u1', 25, 202, { ticketId: 't1b' });
    run.tickets = [...run.tickets.filter((t) => t.ticketId !== 't3'), ticket('t1b', 'u1', 'issued', 52), ticket('t3', 'u3', 'rejected', 52)];
    const verdict = verifyRun(withFacts(run, { distinctWalletUsers: 2 }));
    expect(verdict.coupons[0]).toMatchObject({ duplicateUsersApi: 1, usersWithSeveralTickets: 1, duplicateWalletsPostgres: 1 });
    expect(verdict.failures).toEqual(
      expect.arrayContaining([
        'T1: 1 users hold two or more issued tickets',
        'T1: 1 users got a second ticket when resubmitting',
        'T1: 1 duplicate wallets in Postgres (same user twice)',
      ]),
    );
  });

  it('flags an inversion: a user sent after another was answered wins while the other loses', () => {
    // u3 (answered at 25) loses and u4 (sent at 30) wins: one inversion. Still 3 issued.
    const run = setTicket(setTicket(cleanRun(), 't3', { status: 'rejected', issuedAt: undefined }), 't4', { status: 'issued', issuedAt: START + 53 });
    const verdict = verifyRun(run);
    expect(verdict.coupons[0]!.inversions).toBe(1);
    expect(verdict.failures).toEqual(['T1: 1 first-come inversions (answered earlier, lost; sent later, won)']);
  });

  it('counts a winner sent after a SOLD_OUT answer as an inversion too', () => {
    const run = cleanRun();
    run.requests.push(request('u6', 60, 202, { ticketId: 't6' }));
    run.tickets.push(ticket('t6', 'u6', 'issued', 70));
    const verdict = verifyRun(setTicket(withFacts(run, { limit: 4, issued: 4, wallets: 4, distinctWalletUsers: 4 }), 't4', {}));
    // u6 was sent after u4 (rejected, answered at 35) and u5 (SOLD_OUT at 45) were answered.
    expect(verdict.coupons[0]!.inversions).toBe(2);
    expect(verdict.ok).toBe(false);
  });

  it('flags a ticket that never became final, and one the poller never saw at all', () => {
    const queued = verifyRun(setTicket(cleanRun(), 't4', { status: 'queued', finalSeenAt: undefined }));
    expect(queued.failures).toEqual(['T1: 1 tickets never reached a final state (still queued: 1)']);
    expect(queued.unfinishedTickets).toBe(1);
    expect(queued.allFinalAfterMs).toBeNull();

    const unseen = cleanRun();
    unseen.tickets = unseen.tickets.filter((t) => t.ticketId !== 't2');
    expect(verifyRun(unseen).failures).toContain('T1: 1 tickets never reached a final state (never polled: 1)');

    const lost = verifyRun(setTicket(cleanRun(), 't4', { status: null, finalSeenAt: undefined, lastPollStatus: 404 }));
    expect(lost.failures).toEqual(['T1: 1 tickets never reached a final state (poll 404: 1)']);
    expect(lost.coupons[0]!.lostTickets).toBe(1);
  });

  it('flags an under-issue once everything is decided', () => {
    const run = withFacts(setTicket(cleanRun(), 't3', { status: 'rejected', issuedAt: undefined }), { issued: 2, wallets: 2, distinctWalletUsers: 2 });
    expect(verifyRun(run).failures).toContain('T1: under-issued: 2 of 3 issued though 5 users asked');
  });

  it('flags a false SOLD_OUT when demand stayed below the limit', () => {
    const run = withFacts(cleanRun(), { limit: 10 });
    run.tickets = run.tickets.map((t) => (t.ticketId === 't4' ? { ...t, status: 'issued', issuedAt: START + 53 } : t));
    const verdict = verifyRun(withFacts(run, { issued: 4, wallets: 4, distinctWalletUsers: 4 }));
    expect(verdict.failures).toEqual(['T1: SOLD_OUT answered 1 times but only 4 of 10 were issued']);
  });

  it('flags 5xx and unanswered requests, but not 503 OVERLOADED', () => {
    const run = cleanRun();
    run.requests.push(
      request('u7', 41, 503, { code: 'OVERLOADED' }),
      request('u8', 42, 500, { code: 'INTERNAL' }),
      { ...request('u9', 43, 0), answeredAt: null },
      request('u10', 44, 404, { code: 'COUPON_NOT_FOUND' }),
    );
    const verdict = verifyRun(run);
    expect(verdict).toMatchObject({ overloaded: 1, serverErrors: 1, unanswered: 1, unexpectedAnswers: 1 });
    expect(verdict.statusCounts).toMatchObject({ '503 OVERLOADED': 1, '500 INTERNAL': 1, 'no answer': 1 });
    expect(verdict.failures).toEqual([
      '1 server errors (5xx other than 503 OVERLOADED / UNAVAILABLE)',
      '1 requests got no answer (a hang past the client timeout, or a broken connection)',
      '1 unexpected answers to valid requests (see status counts)',
    ]);
  });

  it('flags an issued ticket with no wallet of its id, when the wallets are known', () => {
    const run = cleanRun();
    expect(verifyRun({ ...run, walletIds: new Set(['t1', 't2', 't3']) }).failures).toEqual([]);
    expect(verifyRun({ ...run, walletIds: new Set(['t1', 't2', 'someone-else']) }).failures).toEqual(['T1: 1 tickets ended issued with no wallet of their id in Postgres']);
  });

  it('counts 503 UNAVAILABLE apart, and fails it when no fault excuses it', () => {
    const run = cleanRun();
    run.requests.push(request('u7', 41, 503, { code: 'UNAVAILABLE' }));
    expect(verifyRun(run)).toMatchObject({ unavailable: 1, serverErrors: 0, failures: ['1 answers 503 UNAVAILABLE with every dependency up'] });
    expect(verifyRun(run, { unavailableExpected: true }).failures).toEqual([]);
  });

  it('on a running system (not fresh) allows coupons issued to others before the burst', () => {
    // Someone outside this burst holds one of the three: only two of our tickets won.
    const run = withFacts(setTicket(cleanRun(), 't3', { status: 'rejected', issuedAt: undefined }), { source: 'api', wallets: undefined, distinctWalletUsers: undefined });
    expect(verifyRun({ ...run, fresh: false }).failures).toEqual([]);
    expect(verifyRun(run).failures).toEqual(['T1: the API issued 3 but only 2 tickets ended issued: 1 winners cannot see their ticket']);
  });
});

describe('percentile', () => {
  it('is the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 90, 99, 100]);
    expect(percentile([], 99)).toBe(0);
  });
});
