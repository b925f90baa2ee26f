import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { ticketKey } from '@coupons/shared/redis';
import { healFromPostgres, healIfBehind, isFinished, retireIfDone } from '../../src/fast-path/heal-from-postgres.ts';
import { admit, createWorkerTestEnvironment, insertCoupon, insertWallet, openAndAdmit, ticketOf, type WorkerTestEnvironment } from './in-process-harness.ts';

const RETENTION_SECONDS = 3_600;

describe('healFromPostgres and healIfBehind', () => {
  let t: WorkerTestEnvironment;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment({ EVENT_RETENTION_SECONDS: String(RETENTION_SECONDS), TICKET_TTL_SECONDS: '7200' });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  /** The four coupon keys that get the retention lifetime, with their TTLs. */
  const ttlsOf = async (code: string) => {
    const keys = t.keysOf(code);
    const [users, pending, seq, meta, fence] = await Promise.all(
      [keys.users, keys.pending, keys.seq, keys.meta, keys.fence].map((key) => t.env.redis.ttl(key)),
    );
    return { users, pending, seq, meta, fence };
  };

  describe('a Redis that went back in time', () => {
    const code = 'HL0001';
    const winners = Array.from({ length: 4 }, () => ({ userId: crypto.randomUUID(), walletId: crypto.randomUUID() }));
    let waiting: Awaited<ReturnType<typeof admit>>;
    beforeAll(async () => {
      const couponId = await insertCoupon(t.deps.db, code, 10, { issued: 4, decidedSeq: 10, lockFence: 9 });
      for (const w of winners) await insertWallet(t.deps.db, couponId, w.userId, w.walletId);
      const keys = t.keysOf(code);
      // Redis's older picture: a mirror that knows 1 issued, a fencing counter at 2, a pending ticket at seq 50.
      await t.env.redis.hset(keys.meta, { total: 10, issued: 1, soldOut: '0', decidedSeq: 3 });
      await t.env.redis.set(keys.fence, 2);
      await t.env.redis.set(keys.seq, 5);
      // winner 0: its dedupe entry points at an older ticket of the same user.
      await t.env.redis.hset(keys.users, winners[0]!.userId, 'stale-ticket-id');
      // winner 1: ticket hash lost entirely. winner 2: a partial hash (no user). winner 3: whole, kept.
      await t.env.redis.hset(ticketKey(t.prefix, code, winners[2]!.walletId), { status: 'queued' });
      await t.env.redis.hset(ticketKey(t.prefix, code, winners[3]!.walletId), { coupon: code, user: winners[3]!.userId, seq: 7, status: 'issued', walletId: winners[3]!.walletId, issuedAt: 1, createdAt: 1 });
      waiting = { ticketId: crypto.randomUUID(), userId: crypto.randomUUID(), seq: 50 };
      await t.env.redis.zadd(keys.pending, 50, waiting.ticketId);
      await t.env.redis.hset(ticketKey(t.prefix, code, waiting.ticketId), { coupon: code, user: waiting.userId, seq: 50, status: 'queued', createdAt: Date.now() });

      expect(await healFromPostgres(t.deps, code, keys, 'behind')).toBe(true);
    });

    it('rebuilds the dedupe from the wallets, overwriting a stale users entry', async () => {
      const users = await t.env.redis.hgetall(t.keysOf(code).users);
      for (const w of winners) expect(users[w.userId]).toBe(w.walletId);
    });

    it('rewrites lost or partial winner tickets whole (issued, with their wallet) and leaves whole ones alone', async () => {
      for (const w of winners.slice(1, 3)) {
        const ticket = await ticketOf(t, code, w.walletId);
        expect(ticket).toEqual({
          user: w.userId,
          seq: '0',
          status: 'issued',
          issuedAt: expect.stringMatching(/^\d+$/),
          createdAt: ticket.issuedAt,
        });
        const ttl = await t.env.redis.ttl(ticketKey(t.prefix, code, w.walletId));
        expect(ttl).toBeGreaterThan(7_000);
        expect(ttl).toBeLessThanOrEqual(7_200);
      }
      expect(await ticketOf(t, code, winners[3]!.walletId)).toMatchObject({ seq: '7', issuedAt: '1' });
      expect(await ticketOf(t, code, winners[0]!.walletId)).toMatchObject({ status: 'issued', user: winners[0]!.userId });
    });

    it('raises the fencing counter to lock_fence (the next grant is above it) and seq above decided_seq and the last pending', async () => {
      const keys = t.keysOf(code);
      expect(await t.env.redis.get(keys.fence)).toBe('9');
      expect(await t.env.redis.acquireCouponLock(keys.lock, keys.fence, 'probe', 1_000)).toBe(10);
      await t.env.redis.releaseCouponLock(keys.lock, 'probe');
      expect(await t.env.redis.get(keys.seq)).toBe('50');
      const next = await admit(t, code);
      expect(next.seq).toBe(51);
      await t.env.redis.zrem(keys.pending, next.ticketId);
    });

    it('sets the mirror from Postgres and clears the stale flag', async () => {
      const meta = await t.env.redis.hgetall(t.keysOf(code).meta);
      expect(meta).toEqual({ total: '10', issued: '4', soldOut: '0', decidedSeq: '10', ...WHOLE_RUN_STATE });
    });

    it('leaves the pending ticket waiting and gives an unfinished coupon no lifetime', async () => {
      expect(await t.env.redis.zscore(t.keysOf(code).pending, waiting.ticketId)).toBe('50');
      expect(await ttlsOf(code)).toMatchObject({ users: -1, seq: -1, meta: -1, fence: -1 });
    });
  });

  it('raises seq to decided_seq when it is above the last pending ticket', async () => {
    const code = 'HL0002';
    await insertCoupon(t.deps.db, code, 10, { decidedSeq: 40 });
    const keys = t.keysOf(code);
    await t.env.redis.zadd(keys.pending, 12, crypto.randomUUID());
    expect(await healFromPostgres(t.deps, code, keys, 'missing')).toBe(true);
    expect(await t.env.redis.get(keys.seq)).toBe('40');
    expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '10', issued: '0', soldOut: '0', decidedSeq: '40', ...WHOLE_RUN_STATE });
  });

  it('clears a stale flag (the API flagged the mirror) on a stale heal', async () => {
    const code = 'HL0003';
    await insertCoupon(t.deps.db, code, 10);
    const keys = t.keysOf(code);
    await t.env.redis.hset(keys.meta, { total: 10, issued: 0, soldOut: '0', decidedSeq: 0, stale: '1' });
    expect(await healFromPostgres(t.deps, code, keys, 'stale')).toBe(true);
    expect(await t.env.redis.hget(keys.meta, 'stale')).toBeNull();
  });

  it('returns false for a coupon Postgres does not know, writing nothing', async () => {
    const keys = t.keysOf('NOPE03');
    expect(await healFromPostgres(t.deps, 'NOPE03', keys, 'missing')).toBe(false);
    expect(await healIfBehind(t.deps, 'NOPE03', keys)).toBe(false);
    expect(await t.env.redis.exists(keys.meta, keys.users, keys.seq, keys.fence)).toBe(0);
  });

  it('gives a finished coupon (sold out, nothing pending) TTLs of EVENT_RETENTION_SECONDS on users, seq, meta and fence', async () => {
    const code = 'HL0004';
    const couponId = await insertCoupon(t.deps.db, code, 2, { issued: 2, decidedSeq: 2, lockFence: 3 });
    await insertWallet(t.deps.db, couponId, crypto.randomUUID());
    await insertWallet(t.deps.db, couponId, crypto.randomUUID());
    expect(await healFromPostgres(t.deps, code, t.keysOf(code), 'missing')).toBe(true);
    const ttls = await ttlsOf(code);
    for (const key of ['users', 'seq', 'meta', 'fence'] as const) {
      expect(ttls[key], key).toBeGreaterThan(RETENTION_SECONDS - 30);
      expect(ttls[key], key).toBeLessThanOrEqual(RETENTION_SECONDS);
    }
    expect(ttls.pending).toBe(-2);
    expect(await t.env.redis.hget(t.keysOf(code).meta, 'soldOut')).toBe('1');
  });

  it('gives a sold-out coupon no lifetime while tickets are still pending', async () => {
    const code = 'HL0005';
    const couponId = await insertCoupon(t.deps.db, code, 1, { issued: 1, decidedSeq: 1, lockFence: 1 });
    await insertWallet(t.deps.db, couponId, crypto.randomUUID());
    await t.env.redis.zadd(t.keysOf(code).pending, 2, crypto.randomUUID());
    expect(await healFromPostgres(t.deps, code, t.keysOf(code), 'missing')).toBe(true);
    expect(await ttlsOf(code)).toEqual({ users: -1, pending: -1, seq: -1, meta: -1, fence: -1 });
    expect(await retireIfDone(t.deps, code)).toBe(0);
  });

  it('retireIfDone never extends a lifetime already given', async () => {
    const code = 'HL0006';
    const keys = t.keysOf(code);
    await t.env.redis.set(keys.seq, 1, 'EX', 100);
    await t.env.redis.set(keys.fence, 1);
    expect(await retireIfDone(t.deps, code)).toBe(1);
    expect(await t.env.redis.ttl(keys.seq)).toBeLessThanOrEqual(100);
    expect(await t.env.redis.ttl(keys.fence)).toBeGreaterThan(100);
  });

  describe('healIfBehind', () => {
    it('leaves a finished coupon whose meta is missing alone: no key is re-created', async () => {
      const code = 'HL0010';
      const couponId = await insertCoupon(t.deps.db, code, 1, { issued: 1, decidedSeq: 1, lockFence: 4 });
      await insertWallet(t.deps.db, couponId, crypto.randomUUID());
      const keys = t.keysOf(code);
      expect(await healIfBehind(t.deps, code, keys)).toBe(false);
      expect(await t.env.redis.exists(keys.meta, keys.users, keys.seq, keys.fence, keys.pending)).toBe(0);
    });

    it('leaves an ended (not sold out) coupon whose meta expired alone too', async () => {
      const code = 'HL0011';
      await insertCoupon(t.deps.db, code, 5, { startsAt: new Date(Date.now() - 120_000), endsAt: new Date(Date.now() - 60_000), decidedSeq: 3 });
      const keys = t.keysOf(code);
      expect(await healIfBehind(t.deps, code, keys)).toBe(false);
      expect(await t.env.redis.exists(keys.meta, keys.users, keys.seq, keys.fence)).toBe(0);
    });

    it('heals an open coupon whose meta is missing', async () => {
      const code = 'HL0012';
      await insertCoupon(t.deps.db, code, 5, { decidedSeq: 2, lockFence: 2 });
      const keys = t.keysOf(code);
      expect(await healIfBehind(t.deps, code, keys)).toBe(true);
      expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '5', issued: '0', soldOut: '0', decidedSeq: '2', ...WHOLE_RUN_STATE });
    });

    it.each([
      ['flagged stale', { total: 5, issued: 1, soldOut: '0', decidedSeq: 2, stale: '1' }],
      ['behind on issued', { total: 5, issued: 0, soldOut: '0', decidedSeq: 2 }],
      ['behind on decidedSeq', { total: 5, issued: 1, soldOut: '0', decidedSeq: 1 }],
      ['without decidedSeq', { total: 5, issued: 1, soldOut: '0' }],
    ])('heals a mirror %s', async (_why, meta) => {
      const code = `HL1${Math.floor(Math.random() * 1e5)}`;
      const couponId = await insertCoupon(t.deps.db, code, 5, { issued: 1, decidedSeq: 2 });
      const winner = crypto.randomUUID();
      const walletId = await insertWallet(t.deps.db, couponId, winner);
      const keys = t.keysOf(code);
      await t.env.redis.hset(keys.meta, meta);
      expect(await healIfBehind(t.deps, code, keys)).toBe(true);
      expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '5', issued: '1', soldOut: '0', decidedSeq: '2', ...WHOLE_RUN_STATE });
      expect(await t.env.redis.hget(keys.users, winner)).toBe(walletId);
    });

    it('does not heal an up-to-date mirror, but raises the counters to Postgres floors', async () => {
      const code = 'HL0013';
      await insertCoupon(t.deps.db, code, 5, { decidedSeq: 6, lockFence: 8 });
      const keys = t.keysOf(code);
      // The mirror agrees with Postgres; the counters are behind (lost alone).
      await t.env.redis.hset(keys.meta, { total: 5, issued: 0, soldOut: '0', decidedSeq: 6, marker: 'kept' });
      expect(await healIfBehind(t.deps, code, keys)).toBe(false);
      expect(await t.env.redis.hget(keys.meta, 'marker')).toBe('kept');
      expect(await t.env.redis.get(keys.fence)).toBe('8');
      expect(await t.env.redis.get(keys.seq)).toBe('6');
      expect(await ttlsOf(code)).toMatchObject({ meta: -1, seq: -1, fence: -1 });
    });

    it('gives an up-to-date finished coupon its retention lifetime', async () => {
      const code = 'HL0014';
      const couponId = await insertCoupon(t.deps.db, code, 1, { issued: 1, decidedSeq: 1, lockFence: 1 });
      const winner = crypto.randomUUID();
      await insertWallet(t.deps.db, couponId, winner);
      const keys = t.keysOf(code);
      await t.env.redis.hset(keys.meta, { total: 1, issued: 1, soldOut: '1', decidedSeq: 1 });
      await t.env.redis.hset(keys.users, winner, 'x');
      expect(await healIfBehind(t.deps, code, keys)).toBe(false);
      const ttls = await ttlsOf(code);
      for (const key of ['users', 'seq', 'meta', 'fence'] as const) expect(ttls[key], key).toBeGreaterThan(RETENTION_SECONDS - 30);
    });
  });

  it('isFinished: sold out, past its end, or closed by an operator', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(isFinished({ issued_quantity: 3, total_quantity: 3, ends_at: null, closed_at: null }, now)).toBe(true);
    expect(isFinished({ issued_quantity: 2, total_quantity: 3, ends_at: null, closed_at: null }, now)).toBe(false);
    expect(isFinished({ issued_quantity: 0, total_quantity: 3, ends_at: now, closed_at: null }, now)).toBe(true);
    expect(isFinished({ issued_quantity: 0, total_quantity: 3, ends_at: new Date(now.getTime() + 1), closed_at: null }, now)).toBe(false);
    expect(isFinished({ issued_quantity: 0, total_quantity: 3, ends_at: null, closed_at: now }, now)).toBe(true);
  });

  it('fixtures: openAndAdmit gives a coupon a healthy mirror (healIfBehind leaves it)', async () => {
    await insertCoupon(t.deps.db, 'HL0015', 3);
    await openAndAdmit(t, 'HL0015', 3, 2);
    expect(await healIfBehind(t.deps, 'HL0015', t.keysOf('HL0015'))).toBe(false);
    expect(await t.env.redis.get(t.keysOf('HL0015').seq)).toBe('2');
  });
});
