import { describe, expect, it } from 'vitest';
import { wasAnswered, type RecordedRequest } from '@coupons/harness/load';
import { countInversions, countLostAdmissions, placeInLine, type CouponFacts, type ObservedRun, type TicketOutcome } from '@coupons/harness/verify';
import { judge, type JudgeRules } from '../src/judge.ts';

/** A crafted run of one coupon: each user sends at t = 10·i, is answered 5 ms later. */
function run(
  users: { status: number; code?: string; ticket?: TicketOutcome['status'] | 'gone' | 'never'; resubmitTicket?: TicketOutcome['status'] }[],
  facts: Partial<CouponFacts> = {},
) {
  const requests: RecordedRequest[] = [];
  const tickets: TicketOutcome[] = [];
  users.forEach((u, i) => {
    const userId = `user-${i}`;
    const ticketId = u.status === 202 ? `ticket-${i}` : undefined;
    requests.push({ userId, couponCode: 'X', sentAt: 10 * i, answeredAt: u.status === 0 ? null : 10 * i + 5, status: u.status, ...(u.code && { code: u.code }), ...(ticketId && { ticketId }) });
    if (ticketId) {
      const gone = u.ticket === 'gone';
      const never = u.ticket === 'never';
      const status = u.ticket === 'gone' || u.ticket === 'never' ? null : (u.ticket ?? 'issued');
      tickets.push({ ticketId, userId, couponCode: 'X', status, ...(gone ? { lastPollStatus: 404 } : never ? { lastPollStatus: 200 } : {}) });
    }
    if (u.resubmitTicket) {
      // A resubmission after the dedupe was lost: a second ticket.
      requests.push({ userId, couponCode: 'X', sentAt: 1000 + i, answeredAt: 1005 + i, status: 202, ticketId: `again-${i}` });
      tickets.push({ ticketId: `again-${i}`, userId, couponCode: 'X', status: u.resubmitTicket });
    }
  });
  const issuedTickets = tickets.filter((t) => t.status === 'issued').length;
  const coupon: CouponFacts = { code: 'X', limit: 2, issued: issuedTickets, source: 'postgres', wallets: issuedTickets, distinctWalletUsers: issuedTickets, ...facts };
  return { fresh: true, startedAt: 0, requests, tickets, coupons: [coupon] } satisfies ObservedRun;
}

const judged = (r: ReturnType<typeof run>, rules: JudgeRules = {}, silentWinners?: Record<string, number>) => judge({ ...r, silentWinners }, rules);

describe('judge', () => {
  it('passes an exact, fair event and reports its figures', () => {
    const result = judged(run([{ status: 202 }, { status: 202 }, { status: 202, ticket: 'rejected' }, { status: 409, code: 'SOLD_OUT' }]));
    expect(result.violations).toEqual([]);
    expect(result.figures).toMatchObject({ requests: 4, accepted: 3, coupons: [{ code: 'X', limit: 2, issued: 2 }], duplicates: 0, inversions: 0, ticketsLost: 0, serverErrors: 0 });
  });

  it('fails over-issue and a wallet count that disagrees with issued_quantity', () => {
    const result = judged(run([{ status: 202 }, { status: 202 }, { status: 202 }], { issued: 3, wallets: 4, distinctWalletUsers: 3 }));
    expect(result.violations.join('\n')).toMatch(/over-issued: 3 issued for a limit of 2/);
    expect(result.violations.join('\n')).toMatch(/issued_quantity is 3 but Postgres holds 4 wallets/);
    expect(result.violations.join('\n')).toMatch(/1 duplicate wallets in Postgres/);
  });

  it('fails an inversion: answered first, lost; sent later, won', () => {
    const result = judged(run([{ status: 202, ticket: 'rejected' }, { status: 202 }, { status: 202 }]));
    expect(result.violations.join('\n')).toMatch(/2 first-come inversions/);
  });

  it('allows 503 UNAVAILABLE only while a dependency is down; never a 500, never a hang', () => {
    const users = [{ status: 202 }, { status: 202 }, { status: 503, code: 'UNAVAILABLE' }, { status: 409, code: 'SOLD_OUT' }];
    expect(judged(run(users)).violations).toEqual(['1 answers 503 UNAVAILABLE with every dependency up']);
    expect(judged(run(users), { unavailableExpected: true }).violations).toEqual([]);
    const broken = judged(run([...users, { status: 500, code: 'INTERNAL' }, { status: 0 }]), { unavailableExpected: true });
    expect(broken.violations).toEqual(['1 server errors (5xx other than 503 OVERLOADED / UNAVAILABLE)', '1 requests got no answer (a hang past the client timeout, or a broken connection)']);
  });

  it('fails a ticket that never becomes final, saying how it was last seen', () => {
    const result = judged(run([{ status: 202 }, { status: 202 }, { status: 202, ticket: 'never' }]));
    expect(result.violations).toEqual(['X: 1 tickets never reached a final state (poll 200: 1)']);
  });

  it('allows a second ticket only when the dedupe state was lost', () => {
    const users = [{ status: 202, resubmitTicket: 'rejected' as const }, { status: 202 }, { status: 409, code: 'SOLD_OUT' }];
    expect(judged(run(users)).violations).toEqual(['X: 1 users got a second ticket when resubmitting']);
    const lost = judged(run(users), { secondTicketsExpected: true });
    expect(lost.violations).toEqual([]);
    expect(lost.inherent).toEqual(['X: 1 users got a second ticket when resubmitting (the dedupe state was lost; no second coupon)']);
  });

  it('after a flush, reports tickets gone with Redis and inversions against their users as inherent', () => {
    // user-0 was admitted first, then Redis was flushed: their ticket is gone (404); later users won.
    const result = judged(run([{ status: 202, ticket: 'gone' }, { status: 202 }, { status: 202 }, { status: 202, ticket: 'rejected' }]), { redisFlushed: true });
    expect(result.violations).toEqual([]);
    expect(result.inherent).toEqual(['X: 1 tickets lost with the flushed Redis (polls answer 404)', 'X: 2 inversions against users whose place in line was flushed away']);
    expect(result.figures.ticketsLost).toBe(1);
  });

  it('still fails a stuck ticket and a winner who cannot see their ticket after a flush', () => {
    const r = run([{ status: 202, ticket: 'never' }, { status: 202 }, { status: 409, code: 'SOLD_OUT' }], { issued: 2, wallets: 2, distinctWalletUsers: 2 });
    expect(judged(r, { redisFlushed: true }).violations).toEqual(['X: 1 tickets never reached a final state (poll 200: 1)']);
    const invisible = run([{ status: 202 }, { status: 202, ticket: 'gone' }, { status: 409, code: 'SOLD_OUT' }], { issued: 2, wallets: 2, distinctWalletUsers: 2 });
    expect(judged(invisible, { redisFlushed: true }).violations).toEqual(['X: Postgres issued 2 but only 1 tickets ended issued: 1 winners cannot see their ticket']);
    // Knowing the wallets, the lost ticket is seen for what it is: a winner's.
    expect(judge({ ...invisible, walletIds: new Set(['ticket-0', 'ticket-1']) }, { redisFlushed: true }).violations).toEqual([
      "X: 1 winners' tickets answer 404 though Postgres holds their wallets (the rebuild did not restore them)",
    ]);
  });

  it('accounts for winners who were answered 503 and found their ticket on asking again', () => {
    const r = run([{ status: 202 }, { status: 503, code: 'UNAVAILABLE' }, { status: 409, code: 'SOLD_OUT' }], { issued: 2, wallets: 2, distinctWalletUsers: 2 });
    expect(judged(r, { unavailableExpected: true }).violations).toEqual(['X: Postgres issued 2 but only 1 tickets ended issued: 1 winners cannot see their ticket']);
    expect(judged(r, { unavailableExpected: true }, { X: 1 }).violations).toEqual([]);
  });

  it('places a user admitted by a request answered 503 where that request was sent', () => {
    // W's first request was admitted as Redis went away (503); W's resubmission got 200 with that ticket.
    const requests: RecordedRequest[] = [
      { userId: 'W', couponCode: 'X', sentAt: 0, answeredAt: 2, status: 503, code: 'UNAVAILABLE' },
      { userId: 'L', couponCode: 'X', sentAt: 10, answeredAt: 12, status: 202, ticketId: 'l' },
      { userId: 'W', couponCode: 'X', sentAt: 100, answeredAt: 102, status: 200, ticketId: 'w' },
    ];
    const tickets: TicketOutcome[] = [
      { ticketId: 'w', userId: 'W', couponCode: 'X', status: 'issued' },
      { ticketId: 'l', userId: 'L', couponCode: 'X', status: 'rejected' },
    ];
    const coupon: CouponFacts = { code: 'X', limit: 1, issued: 1, source: 'postgres', wallets: 1, distinctWalletUsers: 1 };
    const observed: ObservedRun = { fresh: true, startedAt: 0, requests, tickets, coupons: [coupon] };
    // By its 200 alone, W looks like it came after L.
    expect(countInversions(requests.filter(wasAnswered), new Set(['W']))).toBe(1);
    const result = judge(observed, { unavailableExpected: true });
    expect(result.violations).toEqual([]);
    expect(result.figures.inversions).toBe(0);
    expect(placeInLine(requests).admittedUnanswered).toBe(1);
    // A 200 with no unanswered request before it is placed where it was sent.
    expect(placeInLine([requests[1]!, { ...requests[2]!, userId: 'L' }]).admittedUnanswered).toBe(0);
  });

  describe('when Redis went back in time (an older snapshot, a promoted replica)', () => {
    it('counts the acknowledged admissions lost: neither in the older Redis nor a wallet', () => {
      const before = [
        { status: 202, ticketId: 'kept' },
        { status: 202, ticketId: 'won' },
        { status: 202, ticketId: 'lost' },
        { status: 202, ticketId: 'lost' }, // the same ticket answered twice counts once
        { status: 200, ticketId: 'resubmitted' }, // a 200 acknowledges nothing new
        { status: 503 },
      ];
      const counted = countLostAdmissions(before, new Set(['kept', 'elsewhere']), new Set(['won', 'kept']));
      expect(counted).toEqual({ acknowledged: 3, survivedInRedis: 1, survivedAsWallet: 1, lost: new Set(['lost']) });
    });

    it('reports the lost tickets (404) as inherent, and a second ticket only for their users', () => {
      // user-0's admission was lost (404) and they asked again: a new ticket, which won.
      const r = run([{ status: 202, ticket: 'gone', resubmitTicket: 'issued' }, { status: 202 }, { status: 202, ticket: 'rejected' }]);
      const result = judged(r, { unavailableExpected: true, rewound: { lost: new Set(['ticket-0']) } });
      expect(result.violations).toEqual([]);
      expect(result.inherent).toEqual([
        'X: 1 users whose ticket was lost got a new one when resubmitting',
        'X: 1 tickets lost with the older Redis state (acknowledged admissions lost)',
      ]);
      expect(result.figures.ticketsLost).toBe(1);
    });

    it('fails a survivor given a second ticket, a 404 for a ticket the older Redis kept, and a winner who polls 404', () => {
      const survivorAgain = run([{ status: 202, resubmitTicket: 'rejected' }, { status: 202 }, { status: 202, ticket: 'rejected' }]);
      expect(judged(survivorAgain, { rewound: { lost: new Set() } }).violations).toEqual(['X: 1 users whose first ticket survived got a second ticket when resubmitting']);
      const keptThen404 = run([{ status: 202, ticket: 'gone' }, { status: 202 }, { status: 202 }]);
      expect(judged(keptThen404, { rewound: { lost: new Set() } }).violations).toEqual(['X: 1 tickets never reached a final state (poll 404: 1)']);
      const winner404 = run([{ status: 202 }, { status: 202, ticket: 'gone' }, { status: 409, code: 'SOLD_OUT' }], { issued: 2, wallets: 2, distinctWalletUsers: 2 });
      expect(judge({ ...winner404, walletIds: new Set(['ticket-0', 'ticket-1']) }, { rewound: { lost: new Set() } }).violations).toEqual([
        "X: 1 winners' tickets answer 404 though Postgres holds their wallets (the rebuild did not restore them)",
      ]);
    });
  });
});
