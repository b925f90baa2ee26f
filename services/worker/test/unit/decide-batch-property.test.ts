import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideBatch, type Candidate } from '../../src/issuance/decide-batch.ts';

/**
 * Property-based: a model of the whole pipeline around `decideBatch` — admission with per-user
 * dedupe (which Redis may lose mid-event), arbitrary batch boundaries, and batches whose commit
 * went through but whose Redis resolve was lost (the worker died in between), so they are
 * decided again. Whatever fast-check throws at it: issued ≤ limit, issued = min(limit, distinct
 * users), no user twice, and the winners are exactly the earliest distinct arrivals.
 */
interface Scenario {
  limit: number;
  arrivals: number[];
  batchSizes: number[];
  /** after this many arrivals, the dedupe index is lost (resubmissions get new tickets) */
  dedupeLostAt: number | null;
  /** batches (by index) whose resolve is lost after the commit */
  lostResolves: number[];
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  limit: fc.integer({ min: 1, max: 25 }),
  arrivals: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 120 }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 10 }),
  dedupeLostAt: fc.option(fc.integer({ min: 0, max: 120 }), { nil: null }),
  lostResolves: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 5 }),
});

function runEvent({ limit, arrivals, batchSizes, dedupeLostAt, lostResolves }: Scenario) {
  // Admission: one ticket per user, unless the dedupe index was lost in between.
  const dedupe = new Map<string, string>();
  const pending: Candidate[] = [];
  arrivals.forEach((user, i) => {
    if (i === dedupeLostAt) dedupe.clear();
    const userId = `u${user}`;
    if (dedupe.has(userId)) return;
    const ticket: Candidate = { ticketId: `t${i}`, seq: i, userId };
    dedupe.set(userId, ticket.ticketId);
    pending.push(ticket);
  });

  // Postgres: wallets (userId → wallet id = winning ticket id) and the issued count.
  const wallets = new Map<string, string>();
  const issuedTickets = new Set<string>();
  let batchNumber = 0;
  while (pending.length > 0) {
    const size = batchSizes[batchNumber % batchSizes.length]!;
    const batch = pending.slice(0, size); // lowest arrival sequence first
    const candidateWallets = new Map([...wallets].filter(([userId]) => batch.some((c) => c.userId === userId)));
    const { decisions, newWallets } = decideBatch(batch, candidateWallets, limit - wallets.size);
    for (const { userId, ticketId } of newWallets) {
      expect(wallets.has(userId)).toBe(false); // the UNIQUE constraint would refuse it
      wallets.set(userId, ticketId);
    }
    expect(wallets.size).toBeLessThanOrEqual(limit); // the CHECK constraint would refuse it
    if (lostResolves.includes(batchNumber)) {
      batchNumber += 1;
      continue; // committed, but the tickets stay pending: the next batch decides them again
    }
    for (const decision of decisions) if (decision.status === 'issued') issuedTickets.add(decision.ticketId);
    pending.splice(0, batch.length);
    batchNumber += 1;
  }
  return { wallets, issuedTickets };
}

describe('decideBatch, property-based over whole events', () => {
  it('never over, exactly min(limit, distinct users), unique, earliest arrivals win', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { wallets, issuedTickets } = runEvent(scenario);
        const firstArrivals = [...new Set(scenario.arrivals.map((user) => `u${user}`))];
        expect(wallets.size).toBe(Math.min(scenario.limit, firstArrivals.length));
        expect(new Set(wallets.keys())).toEqual(new Set(firstArrivals.slice(0, scenario.limit)));
        // Every wallet's ticket is reported issued, and no other ticket is.
        expect(issuedTickets).toEqual(new Set(wallets.values()));
      }),
      { numRuns: 500 },
    );
  });
});
