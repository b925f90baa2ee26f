import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { ticketKey } from '@coupons/shared/redis';
import { waitFor, WHOLE_RUN_STATE } from '@coupons/shared/testing';
import { AdaptiveBatchSize } from '../../src/drain/batch-size.ts';
import { drainCoupon } from '../../src/drain/drain-coupon.ts';
import { faultInjectionHooks } from '../../src/fault-injection.ts';
import { withCouponLock } from '../../src/lock/coupon-lock.ts';
import { scriptsOf } from '../../src/worker-deps.ts';
import type { WorkerDeps } from '../../src/worker-deps.ts';
import {
  admit,
  capturingLogger,
  couponRow,
  createWorkerTestEnvironment,
  insertCoupon,
  openAndAdmit,
  statusesOf,
  decodedTicketOf, ticketOf,
  type WorkerTestEnvironment,
} from './in-process-harness.ts';

const STATEMENT_TIMEOUT_MS = 200;

describe('drainCoupon', () => {
  let t: WorkerTestEnvironment;
  const logs = capturingLogger();
  beforeAll(async () => {
    t = await createWorkerTestEnvironment(
      { BATCH_SIZE: '8', DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), LOCK_LEASE_MS: '10000', EVENT_RETENTION_SECONDS: '600' },
      logs.log,
    );
  });
  afterAll(async () => {
    await t.cleanup();
  });

  const logsOf = (code: string, msg: string | RegExp) => logs.messages(msg).filter((entry) => entry.coupon === code);

  /** One drain under the coupon's lock, as DrainCoalescer runs it. */
  async function drain(code: string, size = new AdaptiveBatchSize(8), deps: WorkerDeps = t.deps, isStopping = () => false): Promise<number> {
    const result = await withCouponLock(scriptsOf(deps), code, deps.config.LOCK_LEASE_MS, deps.log, (lease) =>
      drainCoupon(deps, code, t.keysOf(code), lease, size, isStopping),
    );
    if (!result.ran) throw new Error(`lock of ${code} was busy`);
    return result.value;
  }

  it('decides the oldest pending tickets first, in batches, until none is left; a sold-out coupon is retired', async () => {
    const code = 'DR0001';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 5);
    expect(await drain(code, new AdaptiveBatchSize(2))).toBe(5);

    expect(logsOf(code, 'batch decided').map((entry) => [entry.size, entry.issued])).toEqual([
      [2, 2],
      [2, 3],
      [1, 3],
    ]);
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued', 'issued', 'rejected', 'rejected']);
    expect(await ticketOf(t, code, tickets[4]!.ticketId)).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
    expect(await ticketOf(t, code, tickets[0]!.ticketId)).toMatchObject({ issuedAt: expect.stringMatching(/^\d+$/) });
    expect((await decodedTicketOf(t, code, tickets[0]!.ticketId))?.walletId).toBe(tickets[0]!.ticketId);
    const keys = t.keysOf(code);
    expect(await t.env.redis.zcard(keys.pending)).toBe(0);
    expect(await t.env.redis.hgetall(keys.meta)).toEqual({ total: '3', issued: '3', soldOut: '1', decidedSeq: '5', ...WHOLE_RUN_STATE });
    expect(await couponRow(t.deps.db, code)).toMatchObject({ issued_quantity: 3, decided_seq: '5' });
    expect(await t.env.redis.ttl(keys.meta)).toBeGreaterThan(500);
    // Nothing pending: the next drain decides nothing.
    expect(await drain(code)).toBe(0);
  });

  it('decides nothing when the worker is stopping', async () => {
    const code = 'DR0002';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 2);
    expect(await drain(code, undefined, t.deps, () => true)).toBe(0);
    expect(await statusesOf(t, code, tickets)).toEqual(['queued', 'queued']);
    expect(await drain(code)).toBe(2);
  });

  it.each(['missing', 'stale'] as const)('heals a %s mirror from Postgres first, then decides', async (state) => {
    const code = state === 'missing' ? 'DR0003' : 'DR0004';
    await insertCoupon(t.deps.db, code, 2);
    const tickets = await openAndAdmit(t, code, 2, 3);
    const keys = t.keysOf(code);
    if (state === 'missing') await t.env.redis.del(keys.meta);
    else await t.env.redis.hset(keys.meta, 'stale', '1');

    expect(await drain(code)).toBe(3);
    expect(logsOf(code, 'fast-path state rebuilt from Postgres').map((entry) => entry.why)).toEqual([state]);
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued', 'rejected']);
    expect(await t.env.redis.hgetall(keys.meta)).toMatchObject({ issued: '2', soldOut: '1', decidedSeq: '3' });
  });

  it('heals a mirror behind Postgres (Redis went back in time) before deciding: a past winner is not issued twice', async () => {
    const code = 'DR0005';
    await insertCoupon(t.deps.db, code, 5);
    const first = await openAndAdmit(t, code, 5, 2);
    expect(await drain(code)).toBe(2);
    const keys = t.keysOf(code);
    // Redis rolls back: the mirror and the dedupe forget the decided batch.
    await t.env.redis.hset(keys.meta, { issued: 0, decidedSeq: 0, soldOut: '0' });
    await t.env.redis.del(keys.users);
    const again = await admit(t, code, first[0]!.userId);
    const fresh = await admit(t, code);

    expect(await drain(code)).toBe(2);
    expect(logsOf(code, 'Redis is behind Postgres: healing before deciding')).toHaveLength(1);
    expect(logsOf(code, 'fast-path state rebuilt from Postgres').map((entry) => entry.why)).toEqual(['behind']);
    expect(await ticketOf(t, code, again.ticketId)).toMatchObject({ status: 'rejected', reason: 'ALREADY_ISSUED' });
    expect(await ticketOf(t, code, fresh.ticketId)).toMatchObject({ status: 'issued' });
    expect(await t.env.redis.hget(keys.users, first[1]!.userId)).toBe(first[1]!.ticketId);
    expect(await couponRow(t.deps.db, code)).toMatchObject({ issued_quantity: 3, decided_seq: String(fresh.seq) });
    expect(await t.env.redis.hgetall(keys.meta)).toMatchObject({ issued: '3', decidedSeq: String(fresh.seq) });
  });

  it('retries a batch that hit the statement timeout with a smaller batch, and the tickets end decided', async () => {
    const code = 'DR0006';
    await insertCoupon(t.deps.db, code, 4);
    const tickets = await openAndAdmit(t, code, 4, 6);
    const size = new AdaptiveBatchSize(8);
    let drained: Promise<number> | undefined;
    // Another connection holds the coupon row: every claim waits for it past the statement timeout.
    await t.env.db.transaction().execute(async (trx) => {
      await sql`SELECT id FROM coupon WHERE code = ${code} FOR UPDATE`.execute(trx);
      drained = drain(code, size);
      await waitFor(() => logsOf(code, 'batch hit the statement timeout: retrying smaller').length >= 2, {
        timeoutMs: 10_000,
        message: 'two batches to hit the statement timeout',
      });
    });
    expect(await drained).toBe(6);
    const timeouts = logsOf(code, 'batch hit the statement timeout: retrying smaller');
    expect(timeouts[0]).toMatchObject({ size: 6, next: 4 });
    expect(timeouts[1]).toMatchObject({ next: 2 });
    expect(size.current).toBeLessThan(8);
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued', 'issued', 'issued', 'rejected', 'rejected']);
    expect(await couponRow(t.deps.db, code)).toMatchObject({ issued_quantity: 4, decided_seq: '6' });
  });

  it('on a fencing refusal while it still holds the lock, raises the fencing counter above Postgres; the next grant decides', async () => {
    const code = 'DR0007';
    await insertCoupon(t.deps.db, code, 3, { lockFence: 100 });
    const tickets = await openAndAdmit(t, code, 3, 2);
    const keys = t.keysOf(code);
    expect(await drain(code)).toBe(0);
    expect(logsOf(code, 'fencing counter was behind Postgres: raised')).toEqual([expect.objectContaining({ fence: 1, storedFence: '100' })]);
    expect(Number(await t.env.redis.get(keys.fence))).toBeGreaterThanOrEqual(100);
    expect(await statusesOf(t, code, tickets)).toEqual(['queued', 'queued']);

    expect(await drain(code)).toBe(2);
    expect(await statusesOf(t, code, tickets)).toEqual(['issued', 'issued']);
    expect(await couponRow(t.deps.db, code)).toMatchObject({ lock_fence: '101' });
  });

  it('on a fencing refusal after losing the lock, writes nothing and leaves the counter alone', async () => {
    const code = 'DR0008';
    await insertCoupon(t.deps.db, code, 3, { lockFence: 100 });
    const tickets = await openAndAdmit(t, code, 3, 1);
    const keys = t.keysOf(code);
    const result = await withCouponLock(scriptsOf(t.deps), code, 10_000, t.deps.log, async (lease) => {
      await t.env.redis.set(keys.lock, 'successor', 'PX', 10_000); // the lease expired and another worker took it
      return drainCoupon(t.deps, code, keys, lease, new AdaptiveBatchSize(8), () => false);
    });
    expect(result).toEqual({ ran: true, value: 0 });
    expect(logsOf(code, 'fenced out: lease expired under us, batch not written')).toHaveLength(1);
    expect(await t.env.redis.get(keys.fence)).toBe('1');
    expect(await t.env.redis.get(keys.lock)).toBe('successor');
    expect(await statusesOf(t, code, tickets)).toEqual(['queued']);
    await t.env.redis.del(keys.lock);
  });

  it('stops when the lease cannot take another batch', async () => {
    const code = 'DR0009';
    await insertCoupon(t.deps.db, code, 3);
    const tickets = await openAndAdmit(t, code, 3, 1);
    const keys = t.keysOf(code);
    await withCouponLock(scriptsOf(t.deps), code, 10_000, t.deps.log, async (lease) => {
      await t.env.redis.set(keys.lock, 'successor', 'PX', 10_000);
      expect(await lease.stillHeld()).toBe(false);
      expect(await drainCoupon(t.deps, code, keys, lease, new AdaptiveBatchSize(8), () => false)).toBe(0);
    });
    expect(await statusesOf(t, code, tickets)).toEqual(['queued']);
    await t.env.redis.del(keys.lock);
  });

  it('rewrites a winner ticket lost between the commit and the resolve (fault injection after commit)', async () => {
    const code = 'DR0010';
    await insertCoupon(t.deps.db, code, 3);
    const [ticket] = await openAndAdmit(t, code, 3, 1);
    const deps: WorkerDeps = { ...t.deps, hooks: faultInjectionHooks({ FAULT_DELAY_BEFORE_COMMIT_MS: 1, FAULT_DELAY_AFTER_COMMIT_MS: 2_000 }, t.deps.log) };
    const drained = drain(code, undefined, deps);
    await waitFor(() => logsOf(code, 'fault injection: pausing after commit').length > 0, { timeoutMs: 10_000, message: 'the pause after commit' });
    expect(logsOf(code, 'fault injection: pausing before commit')).toHaveLength(1);
    await t.env.redis.del(ticketKey(t.prefix, code, ticket!.ticketId));
    expect(await drained).toBe(1);
    expect(await ticketOf(t, code, ticket!.ticketId)).toEqual({
      user: ticket!.userId,
      seq: '0',
      status: 'issued',
      issuedAt: expect.stringMatching(/^\d+$/),
      createdAt: expect.stringMatching(/^\d+$/),
    });
  });

  it('throws when the coupon is not in Postgres: a missing mirror cannot be healed, and a present one cannot be decided', async () => {
    const code = 'DR0011';
    const keys = t.keysOf(code);
    await t.env.redis.zadd(keys.pending, 1, crypto.randomUUID());
    await expect(drain(code)).rejects.toThrow(/coupon DR0011 does not exist in Postgres/);
    await t.env.redis.hset(keys.meta, { total: 1, issued: 0, soldOut: '0', decidedSeq: 0 });
    await expect(drain(code)).rejects.toThrow(/coupon DR0011 does not exist in Postgres/);
    expect(await t.env.redis.exists(keys.lock)).toBe(0);
  });
});
