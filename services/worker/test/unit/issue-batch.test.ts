import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { claimCouponForBatch, recordBatchProgress } from '../../src/issuance/coupon-row.ts';
import type { Candidate } from '../../src/issuance/decide-batch.ts';
import { FencedOutError, issueBatch, mirrorIsBehind, RedisBehindError, type RedisMirror } from '../../src/issuance/issue-batch.ts';
import { findWalletsOfUsers, insertWallets } from '../../src/issuance/wallets.ts';
import { admit, couponRow, createWorkerTestEnvironment, insertCoupon, insertWallet, openAndAdmit, walletCount, type WorkerTestEnvironment } from './in-process-harness.ts';

const OK_MIRROR: RedisMirror = { state: 'ok', issued: 0, decidedSeq: '0' };
const candidatesOf = (tickets: { ticketId: string; seq: number; userId: string }[]): Candidate[] =>
  tickets.map(({ ticketId, seq, userId }) => ({ ticketId, seq, userId }));

describe('issueBatch (one fenced Postgres transaction per batch)', () => {
  let t: WorkerTestEnvironment;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('claims the row with fence and holder, issues in arrival order, advances issued and decided_seq to the last seq', async () => {
    const couponId = await insertCoupon(t.deps.db, 'IB0001', 2);
    const tickets = await openAndAdmit(t, 'IB0001', 2, 3);
    const batch = await issueBatch(t.deps.db, 'IB0001', { fence: 5, holder: 'holder-a' }, candidatesOf(tickets), OK_MIRROR);

    expect(batch.decisions.map((d) => [d.ticketId, d.status])).toEqual([
      [tickets[0]!.ticketId, 'issued'],
      [tickets[1]!.ticketId, 'issued'],
      [tickets[2]!.ticketId, 'rejected'],
    ]);
    expect(batch.decisions[2]).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    expect(batch).toMatchObject({ issuedQuantity: 2, totalQuantity: 2, decidedSeq: String(tickets[2]!.seq) });
    expect([...batch.issuedAt.keys()].sort()).toEqual([tickets[0]!.ticketId, tickets[1]!.ticketId].sort());

    const row = await couponRow(t.deps.db, 'IB0001');
    expect(row).toMatchObject({ lock_fence: '5', lock_holder: 'holder-a', issued_quantity: 2, decided_seq: String(tickets[2]!.seq) });
    // Wallet id = ticket id, one per winner.
    const wallets = await t.deps.db.selectFrom('coupon_wallet').select(['id', 'user_id']).where('coupon_id', '=', couponId).execute();
    expect(wallets.map((w) => w.id).sort()).toEqual([tickets[0]!.ticketId, tickets[1]!.ticketId].sort());
    expect(new Set(wallets.map((w) => w.user_id))).toEqual(new Set([tickets[0]!.userId, tickets[1]!.userId]));
  });

  describe('fencing', () => {
    let couponId: string;
    let tickets: Awaited<ReturnType<typeof openAndAdmit>>;
    beforeAll(async () => {
      couponId = await insertCoupon(t.deps.db, 'IB0002', 10);
      tickets = await openAndAdmit(t, 'IB0002', 10, 4);
      await issueBatch(t.deps.db, 'IB0002', { fence: 7, holder: 'first' }, candidatesOf(tickets.slice(0, 1)), OK_MIRROR);
    });

    it('refuses the same fence number held by another holder, writing nothing', async () => {
      const mirror: RedisMirror = { state: 'ok', issued: 1, decidedSeq: String(tickets[0]!.seq) };
      const error = await issueBatch(t.deps.db, 'IB0002', { fence: 7, holder: 'second' }, candidatesOf(tickets.slice(1, 2)), mirror).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FencedOutError);
      expect(error).toMatchObject({ fence: 7, storedFence: '7' });
      expect(await couponRow(t.deps.db, 'IB0002')).toMatchObject({ lock_fence: '7', lock_holder: 'first', issued_quantity: 1 });
      expect(await walletCount(t.deps.db, couponId)).toBe(1);
    });

    it('refuses an older fence', async () => {
      const mirror: RedisMirror = { state: 'ok', issued: 1, decidedSeq: String(tickets[0]!.seq) };
      await expect(issueBatch(t.deps.db, 'IB0002', { fence: 6, holder: 'first' }, candidatesOf(tickets.slice(1, 2)), mirror)).rejects.toBeInstanceOf(
        FencedOutError,
      );
      expect(await walletCount(t.deps.db, couponId)).toBe(1);
    });

    it('accepts the same fence again from the same holder, and a newer fence from anyone', async () => {
      let mirror: RedisMirror = { state: 'ok', issued: 1, decidedSeq: String(tickets[0]!.seq) };
      await issueBatch(t.deps.db, 'IB0002', { fence: 7, holder: 'first' }, candidatesOf(tickets.slice(1, 2)), mirror);
      mirror = { state: 'ok', issued: 2, decidedSeq: String(tickets[1]!.seq) };
      await issueBatch(t.deps.db, 'IB0002', { fence: 8, holder: 'third' }, candidatesOf(tickets.slice(2, 3)), mirror);
      expect(await couponRow(t.deps.db, 'IB0002')).toMatchObject({ lock_fence: '8', lock_holder: 'third', issued_quantity: 3 });
    });
  });

  describe('a Redis mirror behind Postgres', () => {
    let couponId: string;
    let tickets: Awaited<ReturnType<typeof openAndAdmit>>;
    beforeAll(async () => {
      couponId = await insertCoupon(t.deps.db, 'IB0003', 10);
      tickets = await openAndAdmit(t, 'IB0003', 10, 3);
      await issueBatch(t.deps.db, 'IB0003', { fence: 1, holder: 'h' }, candidatesOf(tickets.slice(0, 2)), OK_MIRROR);
    });

    it.each([
      ['issued', { state: 'ok', issued: 1, decidedSeq: '2' }],
      ['decidedSeq', { state: 'ok', issued: 2, decidedSeq: '1' }],
    ] as const)('is refused with RedisBehindError when its %s is lower, and nothing is written (not even the fence)', async (_what, mirror) => {
      const before = await couponRow(t.deps.db, 'IB0003');
      expect(before).toMatchObject({ issued_quantity: 2, decided_seq: '2', lock_fence: '1' });
      const error = await issueBatch(t.deps.db, 'IB0003', { fence: 2, holder: 'h2' }, candidatesOf(tickets.slice(2)), { ...mirror }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisBehindError);
      expect((error as RedisBehindError).postgres).toMatchObject({ issuedQuantity: 2, decidedSeq: '2', totalQuantity: 10 });
      expect(await couponRow(t.deps.db, 'IB0003')).toEqual(before);
      expect(await walletCount(t.deps.db, couponId)).toBe(2);
    });

    it('mirrorIsBehind compares issued and decidedSeq (as bigints)', () => {
      const postgres = { totalQuantity: 10, issuedQuantity: 2, decidedSeq: '9007199254740993' };
      expect(mirrorIsBehind({ state: 'ok', issued: 2, decidedSeq: '9007199254740993' }, postgres)).toBe(false);
      expect(mirrorIsBehind({ state: 'ok', issued: 2, decidedSeq: '9007199254740992' }, postgres)).toBe(true);
      expect(mirrorIsBehind({ state: 'ok', issued: 1, decidedSeq: '9007199254740993' }, postgres)).toBe(true);
      expect(mirrorIsBehind({ state: 'ok', issued: 3, decidedSeq: '9007199254740994' }, postgres)).toBe(false);
    });
  });

  it('answers ALREADY_ISSUED for a user holding a wallet, replays its own winning ticket without a second wallet, rejects an orphan', async () => {
    const couponId = await insertCoupon(t.deps.db, 'IB0004', 5);
    const [first, second] = await openAndAdmit(t, 'IB0004', 5, 2);
    // first already won in a batch whose resolve was lost; second's user holds another wallet.
    await insertWallet(t.deps.db, couponId, first!.userId, first!.ticketId);
    await insertWallet(t.deps.db, couponId, second!.userId);
    await t.deps.db.updateTable('coupon').set({ issued_quantity: 2 }).where('id', '=', couponId).execute();
    const orphan: Candidate = { ticketId: crypto.randomUUID(), seq: 3, userId: '' };
    const mirror: RedisMirror = { state: 'ok', issued: 2, decidedSeq: '0' };

    const batch = await issueBatch(t.deps.db, 'IB0004', { fence: 1, holder: 'h' }, [...candidatesOf([first!, second!]), orphan], mirror);
    expect(batch.decisions).toEqual([
      { ticketId: first!.ticketId, userId: first!.userId, status: 'issued', replayed: true },
      { ticketId: second!.ticketId, userId: second!.userId, status: 'rejected', reason: 'ALREADY_ISSUED' },
      { ticketId: orphan.ticketId, userId: '', status: 'rejected', reason: null },
    ]);
    // The replayed winner keeps its original issuedAt; no new coupon was taken.
    expect(batch.issuedAt.get(first!.ticketId)).toEqual(expect.any(Number));
    expect(batch).toMatchObject({ issuedQuantity: 2, decidedSeq: '3' });
    expect(await walletCount(t.deps.db, couponId)).toBe(2);
  });

  it('rolls the batch back when a winner wallet cannot be inserted (its id is taken), writing nothing', async () => {
    const otherId = await insertCoupon(t.deps.db, 'IB0005', 5);
    const couponId = await insertCoupon(t.deps.db, 'IB0006', 5);
    const [ticket] = await openAndAdmit(t, 'IB0006', 5, 1);
    // A wallet of another coupon already has this id: ON CONFLICT DO NOTHING skips the row.
    await insertWallet(t.deps.db, otherId, crypto.randomUUID(), ticket!.ticketId);
    await expect(issueBatch(t.deps.db, 'IB0006', { fence: 1, holder: 'h' }, candidatesOf([ticket!]), OK_MIRROR)).rejects.toThrow(
      /inserted 0 of 1 wallets for IB0006; batch rolled back/,
    );
    expect(await couponRow(t.deps.db, 'IB0006')).toMatchObject({ issued_quantity: 0, decided_seq: '0', lock_fence: '0', lock_holder: null });
    expect(await walletCount(t.deps.db, couponId)).toBe(0);
  });

  it('throws for a coupon Postgres does not know', async () => {
    await expect(issueBatch(t.deps.db, 'NOPE01', { fence: 1, holder: 'h' }, [{ ticketId: crypto.randomUUID(), seq: 1, userId: crypto.randomUUID() }], OK_MIRROR)).rejects.toThrow(
      /coupon NOPE01 does not exist in Postgres/,
    );
  });

  describe('the coupon-row and wallets SQL', () => {
    it('claimCouponForBatch reports fenced (with the stored fence) and missing', async () => {
      await insertCoupon(t.deps.db, 'IB0007', 1, { lockFence: 9 });
      await t.deps.db.transaction().execute(async (trx) => {
        // A stored fence with no holder (written before lock_holder existed) names nobody: the same number is refused.
        expect(await claimCouponForBatch(trx, 'IB0007', { fence: 9, holder: 'x' })).toEqual({ kind: 'fenced', storedFence: '9' });
        expect(await claimCouponForBatch(trx, 'IB0007', { fence: 10, holder: 'x' })).toEqual({ kind: 'claimed', couponId: expect.any(String), totalQuantity: 1, issuedQuantity: 0, decidedSeq: '0' });
        expect(await claimCouponForBatch(trx, 'IB0007', { fence: 10, holder: 'x' })).toMatchObject({ kind: 'claimed' });
        expect(await claimCouponForBatch(trx, 'IB0007', { fence: 10, holder: 'y' })).toEqual({ kind: 'fenced', storedFence: '10' });
        expect(await claimCouponForBatch(trx, 'IB0007', { fence: 9, holder: 'x' })).toEqual({ kind: 'fenced', storedFence: '10' });
        expect(await claimCouponForBatch(trx, 'NOPE02', { fence: 1, holder: 'x' })).toEqual({ kind: 'missing' });
      });
    });

    it('recordBatchProgress refuses to pass the limit; decided_seq only grows; empty inputs need no statement', async () => {
      const couponId = await insertCoupon(t.deps.db, 'IB0008', 2, { decidedSeq: 10 });
      await t.deps.db.transaction().execute(async (trx) => {
        expect(await recordBatchProgress(trx, couponId, 3, 11)).toBeUndefined();
        expect(await recordBatchProgress(trx, couponId, 2, 4)).toEqual({ issuedQuantity: 2, decidedSeq: '10' });
        expect(await recordBatchProgress(trx, couponId, 1, 12)).toBeUndefined();
        expect(await recordBatchProgress(trx, couponId, 0, 12)).toEqual({ issuedQuantity: 2, decidedSeq: '12' });
        expect(await insertWallets(trx, couponId, [])).toEqual([]);
        expect(await findWalletsOfUsers(trx, couponId, [])).toEqual([]);
      });
      // The CHECK constraint is the last line of defence even without the guard.
      await expect(sql`UPDATE coupon SET issued_quantity = 3 WHERE id = ${couponId}`.execute(t.deps.db)).rejects.toThrow(/coupon_issued_within_limit/);
    });

    it('insertWallets skips a second wallet of the same user (UNIQUE) instead of aborting', async () => {
      const couponId = await insertCoupon(t.deps.db, 'IB0009', 5);
      const user = crypto.randomUUID();
      await t.deps.db.transaction().execute(async (trx) => {
        const first = await insertWallets(trx, couponId, [{ ticketId: crypto.randomUUID(), userId: user }]);
        expect(first).toHaveLength(1);
        const again = await insertWallets(trx, couponId, [{ ticketId: crypto.randomUUID(), userId: user }]);
        expect(again).toEqual([]);
        expect(await findWalletsOfUsers(trx, couponId, [user, crypto.randomUUID()])).toEqual([
          { id: first[0]!.id, user_id: user, issued_at: expect.any(Date) },
        ]);
      });
    });
  });

  it('admit helper gives consecutive arrival sequences (sanity of the fixtures)', async () => {
    await insertCoupon(t.deps.db, 'IB0010', 1);
    const [a] = await openAndAdmit(t, 'IB0010', 1, 1);
    const b = await admit(t, 'IB0010');
    expect(b.seq).toBe(a!.seq + 1);
  });
});
