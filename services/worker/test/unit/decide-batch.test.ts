import { describe, expect, it } from 'vitest';
import { decideBatch, type Candidate, type Decision } from '../../src/issuance/decide-batch.ts';

/**
 * A small seeded pseudo-random generator (mulberry32), so a property test that fails
 * prints a seed that reproduces it.
 */
function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min: number, max: number): number => min + Math.floor(next() * (max - min + 1)),
  };
}

/** Candidates in arrival order: ticket `t<seq>` of each user. */
function arrivals(...userIds: string[]): Candidate[] {
  return userIds.map((userId, index) => ({ ticketId: `t${index + 1}`, seq: index + 1, userId }));
}

const noWallets = new Map<string, string>();

function summary(decisions: Decision[]): string[] {
  return decisions.map((d) => `${d.ticketId}:${d.status === 'issued' ? (d.replayed ? 'replayed' : 'issued') : d.reason}`);
}

describe('decideBatch', () => {
  it('issues to the earliest candidates while coupons remain, in arrival order', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1', 'u2', 'u3', 'u4'), noWallets, 2);
    expect(summary(decisions)).toEqual(['t1:issued', 't2:issued', 't3:SOLD_OUT', 't4:SOLD_OUT']);
    expect(newWallets).toEqual([
      { ticketId: 't1', userId: 'u1' },
      { ticketId: 't2', userId: 'u2' },
    ]);
  });

  it('rejects everyone as SOLD_OUT when nothing remains', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1', 'u2'), noWallets, 0);
    expect(summary(decisions)).toEqual(['t1:SOLD_OUT', 't2:SOLD_OUT']);
    expect(newWallets).toEqual([]);
  });

  it('treats a negative remainder as nothing left', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1'), noWallets, -3);
    expect(summary(decisions)).toEqual(['t1:SOLD_OUT']);
    expect(newWallets).toEqual([]);
  });

  it('reports a ticket whose own wallet already exists as issued again (replayed), taking no coupon', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1', 'u2'), new Map([['u1', 't1']]), 1);
    expect(decisions[0]).toEqual({ ticketId: 't1', userId: 'u1', status: 'issued', replayed: true });
    // The replayed ticket took no coupon, so the one remaining still goes to u2.
    expect(summary(decisions)).toEqual(['t1:replayed', 't2:issued']);
    expect(newWallets).toEqual([{ ticketId: 't2', userId: 'u2' }]);
  });

  it('rejects a user who already holds a wallet from another ticket as ALREADY_ISSUED', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1', 'u2'), new Map([['u1', 'older-ticket']]), 5);
    expect(decisions[0]).toEqual({ ticketId: 't1', userId: 'u1', status: 'rejected', reason: 'ALREADY_ISSUED' });
    expect(newWallets).toEqual([{ ticketId: 't2', userId: 'u2' }]);
  });

  it('rejects a second ticket of the same user in one batch as ALREADY_ISSUED when the first won', () => {
    const { decisions, newWallets } = decideBatch(arrivals('u1', 'u1', 'u2'), noWallets, 2);
    expect(summary(decisions)).toEqual(['t1:issued', 't2:ALREADY_ISSUED', 't3:issued']);
    expect(newWallets.map((w) => w.userId)).toEqual(['u1', 'u2']);
  });

  it('rejects a second ticket of the same user in one batch as SOLD_OUT when the first lost', () => {
    const { decisions } = decideBatch(arrivals('u1', 'u2', 'u2'), noWallets, 1);
    expect(summary(decisions)).toEqual(['t1:issued', 't2:SOLD_OUT', 't3:SOLD_OUT']);
  });

  it('rejects a ticket without a user (its hash was lost) with no reason, taking no coupon', () => {
    const { decisions, newWallets } = decideBatch(arrivals('', 'u2'), noWallets, 1);
    expect(decisions[0]).toEqual({ ticketId: 't1', userId: '', status: 'rejected', reason: null });
    expect(newWallets).toEqual([{ ticketId: 't2', userId: 'u2' }]);
  });

  it('decides nothing for an empty batch', () => {
    expect(decideBatch([], noWallets, 10)).toEqual({ decisions: [], newWallets: [] });
  });
});

describe('decideBatch over a whole event (seeded random cases)', () => {
  const SEED = 20_240_601;
  const CASES = 400;

  /** Cuts `items` into consecutive non-empty batches of random sizes. */
  function splitIntoBatches<T>(items: T[], random: ReturnType<typeof seededRandom>): T[][] {
    const batches: T[][] = [];
    for (let start = 0; start < items.length; ) {
      const size = random.int(1, Math.max(1, Math.min(8, items.length - start)));
      batches.push(items.slice(start, start + size));
      start += size;
    }
    return batches;
  }

  it(`keeps every invariant across ${CASES} random arrival sequences and batch cuts (seed ${SEED})`, () => {
    const random = seededRandom(SEED);
    for (let caseIndex = 0; caseIndex < CASES; caseIndex += 1) {
      const limit = random.int(0, 12);
      const population = random.int(1, 20);
      const userIds = arrivals(...Array.from({ length: random.int(0, 40) }, () => `u${random.int(1, population)}`));
      const context = `case ${caseIndex} (seed ${SEED}): limit ${limit}, arrivals ${userIds.map((c) => c.userId).join(',')}`;

      const wallets = new Map<string, string>(); // userId → walletId (= winning ticketId), as Postgres holds them
      let remaining = limit;
      const issuedTo: string[] = [];
      for (const batch of splitIntoBatches(userIds, random)) {
        const { decisions, newWallets } = decideBatch(batch, wallets, remaining);
        expect(decisions.map((d) => d.ticketId), context).toEqual(batch.map((c) => c.ticketId));
        for (const { ticketId, userId } of newWallets) {
          expect(wallets.has(userId), `${context}: ${userId} issued twice`).toBe(false);
          wallets.set(userId, ticketId);
          issuedTo.push(userId);
        }
        remaining -= newWallets.length;

        // A worker killed after the commit decides the same batch again: same outcomes, no new coupon.
        const replay = decideBatch(batch, wallets, remaining);
        expect(replay.newWallets, context).toEqual([]);
        expect(summary(replay.decisions), context).toEqual(
          summary(decisions).map((s) => s.replace(/:issued$/, ':replayed')),
        );
      }

      const distinctInArrivalOrder = [...new Set(userIds.map((c) => c.userId))];
      expect(issuedTo.length, context).toBeLessThanOrEqual(limit);
      expect(issuedTo.length, context).toBe(Math.min(limit, distinctInArrivalOrder.length));
      expect(issuedTo, context).toEqual(distinctInArrivalOrder.slice(0, limit));
      expect(remaining, context).toBeGreaterThanOrEqual(0);
    }
  });
});
