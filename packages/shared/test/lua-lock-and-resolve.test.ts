import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { waitFor, WHOLE_RUN_STATE } from '../src/testing/index.ts';
import { decodeTicket } from '../src/redis/index.ts';
import { useRedisWorld } from './helpers.ts';

const world = useRedisWorld();

describe('coupon lock scripts (real Redis)', () => {
  /** A coupon nobody has locked yet, now locked by `holder` with the first fencing token. */
  async function couponLockedBy(holder: string, leaseMs: number) {
    const { keys } = await world.freshCoupon();
    const { redis } = world.env;
    expect(await redis.acquireCouponLock(keys.lock, keys.fence, holder, leaseMs)).toBe(1);
    return { keys, redis };
  }

  it('grants the lock with increasing fencing tokens, and refuses it (0) while someone holds it', async () => {
    const { keys, redis } = await couponLockedBy('holder-a', 60_000);
    const lease = await redis.pttl(keys.lock); // PX: milliseconds
    expect(lease).toBeGreaterThan(50_000);
    expect(lease).toBeLessThanOrEqual(60_000);
    expect(await redis.acquireCouponLock(keys.lock, keys.fence, 'holder-b', 60_000)).toBe(0);
    expect(await redis.acquireCouponLock(keys.lock, keys.fence, 'holder-a', 60_000)).toBe(0);
    expect(await redis.get(keys.lock)).toBe('holder-a');

    expect(await redis.releaseCouponLock(keys.lock, 'holder-a')).toBe(1);
    expect(await redis.acquireCouponLock(keys.lock, keys.fence, 'holder-b', 60_000)).toBe(2);
  });

  it('lets the lease expire, after which the next holder gets the very next token', async () => {
    const { keys, redis } = await couponLockedBy('paused', 200);
    expect(await redis.pttl(keys.lock)).toBeLessThanOrEqual(200);

    // Refused attempts while the lease runs consume no token.
    const token = await waitFor(() => redis.acquireCouponLock(keys.lock, keys.fence, 'successor', 60_000), {
      timeoutMs: 5_000,
      intervalMs: 20,
      message: 'the 200 ms lease to expire',
    });
    expect(token).toBe(2);
    expect(await redis.get(keys.lock)).toBe('successor');
  });

  it('renews the lease only for the holder', async () => {
    const { keys, redis } = await couponLockedBy('holder', 5_000);

    expect(await redis.renewCouponLock(keys.lock, 'intruder', 60_000)).toBe(0);
    expect(await redis.pttl(keys.lock)).toBeLessThanOrEqual(5_000);
    expect(await redis.get(keys.lock)).toBe('holder');

    expect(await redis.renewCouponLock(keys.lock, 'holder', 60_000)).toBe(1);
    expect(await redis.pttl(keys.lock)).toBeGreaterThan(5_000);
  });

  it('cannot renew a lock whose lease expired', async () => {
    const { keys, redis } = await couponLockedBy('holder', 200);
    await waitFor(async () => (await redis.exists(keys.lock)) === 0, { timeoutMs: 5_000, intervalMs: 20, message: 'the lease to expire' });
    expect(await redis.renewCouponLock(keys.lock, 'holder', 60_000)).toBe(0);
    expect(await redis.exists(keys.lock)).toBe(0);
  });

  it('releases only for the holder: a worker whose lease expired cannot delete its successor’s lock', async () => {
    const { keys, redis } = await couponLockedBy('successor', 60_000);

    expect(await redis.releaseCouponLock(keys.lock, 'expired-holder')).toBe(0);
    expect(await redis.get(keys.lock)).toBe('successor');
    expect(await redis.releaseCouponLock(keys.lock, 'successor')).toBe(1);
    expect(await redis.exists(keys.lock)).toBe(0);
    expect(await redis.releaseCouponLock(keys.lock, 'successor')).toBe(0);
  });

  it('raises a counter to a floor, never lowers it, and the next grant goes above it', async () => {
    const { keys } = await world.freshCoupon();
    const { redis } = world.env;
    expect(await redis.raiseCounterFloor(keys.fence, '41')).toBe(41); // pg hands bigint over as a string
    expect(await redis.raiseCounterFloor(keys.fence, 7)).toBe(41);
    expect(await redis.get(keys.fence)).toBe('41');
    expect(await redis.acquireCouponLock(keys.lock, keys.fence, 'holder', 60_000)).toBe(42);
    expect(await redis.raiseCounterFloor(keys.fence, 42)).toBe(42);
  });
});

describe('batch scripts (real Redis)', () => {
  const TTL_SECONDS = 600;

  /** One outcome group for resolve-batch: ticketId, status, reason, walletId|issuedAt. */
  function outcome(ticketId: string, status: 'issued' | 'rejected', reason = '', wallet?: { id: string; at: number }) {
    return [ticketId, status, reason, wallet ? `${wallet.id}|${wallet.at}` : ''];
  }

  /** The coupon's fast-path mirror, as the worker's rebuild from Postgres writes it. */
  async function mirrorFromPostgres(coupon: Awaited<ReturnType<typeof world.freshCoupon>>, issued: number, total: number) {
    await world.env.redis.hset(coupon.keys.meta, { total, issued, soldOut: issued >= total ? '1' : '0', decidedSeq: 0 });
  }

  async function admitUsers(coupon: Awaited<ReturnType<typeof world.freshCoupon>>, count: number) {
    const admitted = [];
    for (let i = 0; i < count; i += 1) {
      const userId = randomUUID();
      admitted.push({ userId, ...(await world.admit(coupon, userId)) });
    }
    return admitted;
  }

  it('reads the lowest sequences first, with their users, up to the batch size', async () => {
    const coupon = await world.freshCoupon();
    const admitted = await admitUsers(coupon, 5);
    await mirrorFromPostgres(coupon, 2, 10);
    const flat = await world.env.redis.readDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.seq, 3, coupon.keys.ticketPrefix);
    expect(flat).toEqual(['ok', '0', '2', '0', ...admitted.slice(0, 3).flatMap((a) => [a.ticketId, String(a.seq), a.userId])]);
  });

  it('reads an empty user for a pending ticket whose hash is gone', async () => {
    const coupon = await world.freshCoupon();
    const [lost] = await admitUsers(coupon, 1);
    await world.env.redis.del(`${coupon.keys.ticketPrefix}${lost!.ticketId}`);
    expect(await world.env.redis.readDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.seq, 10, coupon.keys.ticketPrefix)).toEqual(['ok', '0', '0', '0', lost!.ticketId, '1', '']);
  });

  it('reads the mirror as missing or stale, for the drain to heal before deciding', async () => {
    const coupon = await world.freshCoupon();
    const read = () => world.env.redis.readDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.seq, 10, coupon.keys.ticketPrefix);
    await world.env.redis.hset(coupon.keys.meta, 'stale', '1', 'decidedSeq', '7');
    expect(await read()).toEqual(['stale', '7', '0', '0']);
    await world.env.redis.del(coupon.keys.meta);
    expect(await read()).toEqual(['missing', '0', '0', '0']);
  });

  it('counts the queued tickets that fell out of line: sequences above decidedSeq with no pending entry', async () => {
    const coupon = await world.freshCoupon();
    const admitted = await admitUsers(coupon, 5);
    const { redis } = world.env;
    await redis.hset(coupon.keys.meta, 'decidedSeq', 1); // the first was decided…
    await redis.zrem(coupon.keys.pending, admitted[0]!.ticketId);
    await redis.zrem(coupon.keys.pending, admitted[2]!.ticketId); // …the third fell out of line
    const flat = await redis.readDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.seq, 10, coupon.keys.ticketPrefix);
    expect(flat.slice(0, 4)).toEqual(['ok', '1', '0', '1']);
  });

  it('resolves a committed batch: final tickets, out of pending, issued mirrored; idempotent when replayed', async () => {
    const coupon = await world.freshCoupon();
    const [winner, loser, waiting] = await admitUsers(coupon, 3);
    await mirrorFromPostgres(coupon, 4, 10);
    const { redis } = world.env;
    const issuedAt = Date.now();
    const args = [
      ...outcome(winner!.ticketId, 'issued', '', { id: winner!.ticketId, at: issuedAt }),
      ...outcome(loser!.ticketId, 'rejected', 'ALREADY_ISSUED'),
    ];
    const resolve = () => redis.resolveDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.ticketPrefix, TTL_SECONDS, 5, 10, 3, 4, 0, ...args);

    expect(await resolve()).toBe(2);
    const winnerKey = `${coupon.keys.ticketPrefix}${winner!.ticketId}`;
    const loserKey = `${coupon.keys.ticketPrefix}${loser!.ticketId}`;
    expect(await redis.hgetall(winnerKey)).toMatchObject({ status: 'issued', issuedAt: String(issuedAt), user: winner!.userId });
    // The wallet a ticket won has the ticket's id: the codec answers it without storing it again.
    expect(decodeTicket(winner!.ticketId, coupon.code, await redis.hgetall(winnerKey), null)).toMatchObject({ walletId: winner!.ticketId, status: 'issued', issuedAt: new Date(issuedAt) });
    expect(await redis.hgetall(winnerKey)).not.toHaveProperty('reason');
    expect(await redis.hgetall(loserKey)).toMatchObject({ status: 'rejected', reason: 'ALREADY_ISSUED' });
    expect(await redis.hgetall(loserKey)).not.toHaveProperty('walletId');
    expect(await redis.zrange(coupon.keys.pending, 0, -1)).toEqual([waiting!.ticketId]);
    expect(await redis.hgetall(coupon.keys.meta)).toEqual({ issued: '5', total: '10', soldOut: '0', decidedSeq: '3', ...WHOLE_RUN_STATE });
    const ttl = await redis.ttl(winnerKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TTL_SECONDS);
    expect(await redis.ttl(`${coupon.keys.ticketPrefix}${waiting!.ticketId}`)).toBe(-1);

    // A worker killed after the commit replays the same resolve.
    expect(await resolve()).toBe(0);
    expect(await redis.hgetall(winnerKey)).toMatchObject({ status: 'issued', issuedAt: String(issuedAt) });
    expect(await redis.zrange(coupon.keys.pending, 0, -1)).toEqual([waiting!.ticketId]);
    expect(await redis.hgetall(coupon.keys.meta)).toEqual({ issued: '5', total: '10', soldOut: '0', decidedSeq: '3', ...WHOLE_RUN_STATE });
  });

  it('only moves the issued mirror upwards, and marks the coupon sold out when issued reaches the total', async () => {
    const coupon = await world.freshCoupon();
    await mirrorFromPostgres(coupon, 0, 10);
    const { redis } = world.env;
    const resolveEmpty = (issued: number, total: number, decidedSeq: number, before: [number, number]) =>
      redis.resolveDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.ticketPrefix, TTL_SECONDS, issued, total, decidedSeq, ...before);

    await resolveEmpty(7, 10, 9, [0, 0]);
    await resolveEmpty(4, 10, 5, [2, 3]); // a late replay of an older batch
    expect(await redis.hgetall(coupon.keys.meta)).toEqual({ issued: '7', total: '10', soldOut: '0', decidedSeq: '9', ...WHOLE_RUN_STATE });

    await resolveEmpty(10, 10, 12, [7, 9]);
    expect(await redis.hgetall(coupon.keys.meta)).toEqual({ issued: '10', total: '10', soldOut: '1', decidedSeq: '12', ...WHOLE_RUN_STATE });
    const late = await world.admit(coupon, randomUUID());
    expect(late.outcome).toBe('sold_out');
  });

  it('flags the mirror stale instead of advancing it when it did not know what Postgres had before the batch', async () => {
    const coupon = await world.freshCoupon();
    // Redis went back in time while the batch ran: it knows 3 issued, Postgres had 8 before the batch.
    await world.env.redis.hset(coupon.keys.meta, { total: 10, issued: 3, soldOut: '0', decidedSeq: 3 });
    await world.env.redis.resolveDecisionBatch(coupon.keys.pending, coupon.keys.meta, coupon.keys.ticketPrefix, TTL_SECONDS, 10, 10, 12, 8, 10);
    expect(await world.env.redis.hgetall(coupon.keys.meta)).toEqual({ total: '10', issued: '3', soldOut: '0', decidedSeq: '3', stale: '1', ...WHOLE_RUN_STATE });
    // So no replica admits on it, until a heal.
    expect(await world.admit(coupon, randomUUID())).toMatchObject({ outcome: 'not_ready', status: 'stale' });
  });

  it('resolves tickets but leaves a lost mirror missing, for the next batch to rebuild from Postgres', async () => {
    const coupon = await world.freshCoupon();
    const [winner] = await admitUsers(coupon, 1);
    const { redis } = world.env;
    await redis.del(coupon.keys.meta);
    const resolved = await redis.resolveDecisionBatch(
      coupon.keys.pending, coupon.keys.meta, coupon.keys.ticketPrefix, TTL_SECONDS, 10, 10, 1, 9, 0,
      ...outcome(winner!.ticketId, 'issued', '', { id: winner!.ticketId, at: Date.now() }),
    );
    expect(resolved).toBe(1);
    expect(await redis.hget(`${coupon.keys.ticketPrefix}${winner!.ticketId}`, 'status')).toBe('issued');
    // A half-written mirror (issued without the dedupe) would look complete to the rebuild.
    expect(await redis.exists(coupon.keys.meta)).toBe(0);
  });

  it('reports a queued ticket’s progress and puts it back in line, with its own sequence, when it fell out', async () => {
    const coupon = await world.freshCoupon();
    const [first, second, third] = await admitUsers(coupon, 3);
    const { redis } = world.env;
    await redis.zrem(coupon.keys.pending, second!.ticketId);
    expect(await redis.ticketsProgress(coupon.keys.pending, coupon.keys.ticketPrefix, second!.ticketId)).toEqual(['queued']);
    expect(await redis.zrange(coupon.keys.pending, 0, -1, 'WITHSCORES')).toEqual([
      first!.ticketId, '1', second!.ticketId, '2', third!.ticketId, '3',
    ]);
  });

  it('reports final, orphan (hash gone, still in line) and gone tickets, and never puts a final one back', async () => {
    const coupon = await world.freshCoupon();
    const [decided, orphan] = await admitUsers(coupon, 2);
    const { redis } = world.env;
    await redis.resolveDecisionBatch(
      coupon.keys.pending, coupon.keys.meta, coupon.keys.ticketPrefix, TTL_SECONDS, 0, 10, 1, 0, 0,
      ...outcome(decided!.ticketId, 'rejected', 'SOLD_OUT'),
    );
    const progress = (...ids: string[]) => redis.ticketsProgress(coupon.keys.pending, coupon.keys.ticketPrefix, ...ids);
    expect(await progress(decided!.ticketId)).toEqual(['rejected']);
    expect(await redis.zscore(coupon.keys.pending, decided!.ticketId)).toBeNull();

    await redis.del(`${coupon.keys.ticketPrefix}${orphan!.ticketId}`);
    const unknown = randomUUID();
    // One call for a batch job's tickets: one status each, in order.
    expect(await progress(decided!.ticketId, orphan!.ticketId, unknown)).toEqual(['rejected', 'orphan', 'gone']);
  });
});

describe('retire-coupon-state-6.lua (real Redis)', () => {
  it('gives a finished coupon’s state its retention once nothing is pending, and never extends it', async () => {
    const coupon = await world.freshCoupon();
    const { redis } = world.env;
    const { keys } = coupon;
    const [only] = await (async () => [await world.admit(coupon, randomUUID())])();
    await redis.set(keys.fence, 3);
    await redis.set(keys.enqueued, 1);
    const retire = (seconds: number) => redis.retireCouponState(keys.users, keys.pending, keys.seq, keys.meta, keys.fence, keys.enqueued, seconds);

    expect(await retire(100)).toBe(0); // a ticket still waits
    expect(await redis.ttl(keys.users)).toBe(-1);

    await redis.zrem(keys.pending, only!.ticketId);
    expect(await retire(100)).toBe(1);
    for (const key of [keys.users, keys.seq, keys.meta, keys.fence, keys.enqueued]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(90);
      expect(ttl).toBeLessThanOrEqual(100);
    }
    expect(await retire(10_000)).toBe(1);
    expect(await redis.ttl(keys.meta)).toBeLessThanOrEqual(100);
  });
});
