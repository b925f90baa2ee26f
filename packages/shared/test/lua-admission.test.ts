import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../src/redis/index.ts';
import { useRedisWorld } from './helpers.ts';

describe('admit-4.lua (real Redis)', () => {
  const world = useRedisWorld();

  it('admits a first request: seq 1, nobody ahead, a queued ticket in the pending set', async () => {
    const coupon = await world.freshCoupon();
    const userId = randomUUID();
    const before = Date.now();
    const result = await world.admit(coupon, userId);

    expect(result).toMatchObject({ outcome: 'admitted', status: 'queued', position: 0, seq: 1 });
    const { redis } = world.env;
    const ticket = await redis.hgetall(`${coupon.keys.ticketPrefix}${result.ticketId}`);
    // The ticket hash's whole layout (lua/includes/ticket-hash.lua): the coupon is in its key.
    expect(ticket).toEqual({ user: userId, seq: '1', status: 'queued', createdAt: expect.stringMatching(/^\d+$/) });
    expect(Number(ticket.createdAt)).toBeGreaterThanOrEqual(before);
    expect(await redis.zscore(coupon.keys.pending, result.ticketId)).toBe('1');
    expect(await redis.hget(coupon.keys.users, userId)).toBe(result.ticketId);
  });

  it('counts the requests ahead in position and hands out increasing sequences', async () => {
    const coupon = await world.freshCoupon();
    const results = [];
    for (let i = 0; i < 3; i += 1) results.push(await world.admit(coupon, randomUUID()));
    expect(results.map((r) => [r.position, r.seq])).toEqual([[0, 1], [1, 2], [2, 3]]);
  });

  it('answers a repeated request with the first ticket and its state, admitting nothing new', async () => {
    const coupon = await world.freshCoupon();
    const userId = randomUUID();
    await world.admit(coupon, randomUUID());
    const first = await world.admit(coupon, userId);
    const again = await world.admit(coupon, userId);

    expect(again).toMatchObject({ outcome: 'existing', ticketId: first.ticketId, status: 'queued', position: 1 });
    expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(2);
    expect(await world.env.redis.get(coupon.keys.seq)).toBe('2');
  });

  it('reports a decided ticket as existing with its final status and no position', async () => {
    const coupon = await world.freshCoupon();
    const userId = randomUUID();
    const first = await world.admit(coupon, userId);
    const { redis } = world.env;
    await redis.hset(`${coupon.keys.ticketPrefix}${first.ticketId}`, 'status', 'issued');
    await redis.zrem(coupon.keys.pending, first.ticketId);

    expect(await world.admit(coupon, userId)).toMatchObject({ outcome: 'existing', ticketId: first.ticketId, status: 'issued', position: -1 });
  });

  it('reports an expired ticket (3) for Postgres to judge, and admits anew only when told to replace it', async () => {
    const coupon = await world.freshCoupon();
    const userId = randomUUID();
    const first = await world.admit(coupon, userId);
    await world.env.redis.zrem(coupon.keys.pending, first.ticketId);
    await world.env.redis.del(`${coupon.keys.ticketPrefix}${first.ticketId}`);

    expect(await world.admit(coupon, userId)).toMatchObject({ outcome: 'expired', ticketId: first.ticketId });
    expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(0);

    const second = await world.admit(coupon, userId, { replaceExpired: true });
    expect(second).toMatchObject({ outcome: 'admitted', seq: 2 });
    expect(second.ticketId).not.toBe(first.ticketId);
    expect(await world.env.redis.hget(coupon.keys.users, userId)).toBe(second.ticketId);
  });

  it('judges the opening window by Redis’s clock, admitting nothing outside it', async () => {
    const coupon = await world.freshCoupon();
    const [seconds] = await world.env.redis.time();
    const redisNow = Number(seconds) * 1000;
    const early = await world.admit(coupon, randomUUID(), { startsAt: new Date(redisNow + 60_000), endsAt: null });
    const ended = await world.admit(coupon, randomUUID(), { startsAt: new Date(0), endsAt: new Date(redisNow - 1_000) });
    expect([early.outcome, early.status, ended.outcome, ended.status]).toEqual(['not_open', 'early', 'not_open', 'ended']);
    expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(0);

    const open = await world.admit(coupon, randomUUID(), { startsAt: new Date(redisNow - 1_000), endsAt: new Date(redisNow + 60_000) });
    expect(open.outcome).toBe('admitted');
    // createdAt is Redis's clock too (within the second TIME was read in).
    expect(open.now).toBeGreaterThanOrEqual(redisNow);
    expect(Number(await world.env.redis.hget(`${coupon.keys.ticketPrefix}${open.ticketId}`, 'createdAt'))).toBe(open.now);
  });

  it('refuses (not ready) while the mirror is missing or flagged stale, but still answers a user with a ticket', async () => {
    const coupon = await world.freshCoupon();
    const holder = randomUUID();
    const held = await world.admit(coupon, holder);
    await world.env.redis.hset(coupon.keys.meta, 'stale', '1');
    expect(await world.admit(coupon, randomUUID())).toMatchObject({ outcome: 'not_ready', status: 'stale' });
    expect(await world.admit(coupon, holder)).toMatchObject({ outcome: 'existing', ticketId: held.ticketId });

    await world.env.redis.del(coupon.keys.meta);
    expect(await world.admit(coupon, randomUUID())).toMatchObject({ outcome: 'not_ready', status: 'missing' });
    expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(1);
  });

  it('flags the mirror stale when its arrival counter is below what Postgres has decided (Redis went back in time)', async () => {
    const coupon = await world.freshCoupon();
    for (let i = 0; i < 3; i += 1) await world.admit(coupon, randomUUID());
    // Postgres decided up to sequence 5: this Redis has never handed out 4 and 5.
    expect(await world.admit(coupon, randomUUID(), { decidedSeqFloor: 5 })).toMatchObject({ outcome: 'not_ready', status: 'behind' });
    expect(await world.env.redis.hget(coupon.keys.meta, 'stale')).toBe('1');
    // Every replica now refuses, whatever floor it knows, until a heal clears the flag.
    expect(await world.admit(coupon, randomUUID(), { decidedSeqFloor: 0 })).toMatchObject({ outcome: 'not_ready', status: 'stale' });
    expect(await world.env.redis.get(coupon.keys.seq)).toBe('3');
    // At the floor exactly, the counter is healthy.
    await world.env.redis.hdel(coupon.keys.meta, 'stale');
    expect(await world.admit(coupon, randomUUID(), { decidedSeqFloor: 3 })).toMatchObject({ outcome: 'admitted', seq: 4 });
  });

  it('refuses new users once sold out, but still answers an existing user with their ticket', async () => {
    const coupon = await world.freshCoupon();
    const holder = randomUUID();
    const held = await world.admit(coupon, holder);
    await world.env.redis.hset(coupon.keys.meta, 'soldOut', '1');

    const late = randomUUID();
    expect(await world.admit(coupon, late)).toMatchObject({ outcome: 'sold_out', ticketId: '' });
    expect(await world.admit(coupon, holder)).toMatchObject({ outcome: 'existing', ticketId: held.ticketId });
    expect(await world.env.redis.hexists(coupon.keys.users, late)).toBe(0);
    expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(1);
  });

  it('refuses new users while the backlog is at its bound, reporting the backlog', async () => {
    const coupon = await world.freshCoupon();
    const maxBacklog = 3;
    for (let i = 0; i < maxBacklog; i += 1) {
      expect((await world.admit(coupon, randomUUID(), { maxBacklog })).outcome).toBe('admitted');
    }
    const refused = randomUUID();
    expect(await world.admit(coupon, refused, { maxBacklog })).toMatchObject({ outcome: 'overloaded', position: maxBacklog });
    expect(await world.env.redis.hexists(coupon.keys.users, refused)).toBe(0);

    // Deciding one ticket frees a place.
    const [oldest] = await world.env.redis.zrange(coupon.keys.pending, 0, 0);
    await world.env.redis.zrem(coupon.keys.pending, oldest!);
    expect(await world.admit(coupon, refused, { maxBacklog })).toMatchObject({ outcome: 'admitted', seq: maxBacklog + 1 });
  });

  it('continues after the highest pending sequence when the counter was lost', async () => {
    const coupon = await world.freshCoupon();
    for (let i = 0; i < 4; i += 1) await world.admit(coupon, randomUUID());
    // The oldest two were decided; the counter is lost while two still wait.
    const decided = await world.env.redis.zrange(coupon.keys.pending, 0, 1);
    await world.env.redis.zrem(coupon.keys.pending, ...decided);
    await world.env.redis.del(coupon.keys.seq);

    const next = await world.admit(coupon, randomUUID());
    expect(next).toMatchObject({ outcome: 'admitted', seq: 5, position: 2 });
    expect(await world.env.redis.zscore(coupon.keys.pending, next.ticketId)).toBe('5');
    expect((await world.admit(coupon, randomUUID())).seq).toBe(6);
  });

  it('hands out exactly 1..500 to 500 users admitted at once over several connections', async () => {
    const coupon = await world.freshCoupon();
    const connections = Array.from({ length: 4 }, () => registerCommands(world.env.redis.duplicate()));
    try {
      const users = Array.from({ length: 500 }, () => randomUUID());
      const results = await Promise.all(
        users.map((userId, i) => world.admit(coupon, userId, { redis: connections[i % connections.length]! })),
      );
      expect(results.every((r) => r.outcome === 'admitted')).toBe(true);
      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      // position agrees with seq: everybody ahead of a ticket is still pending.
      expect(results.every((r) => r.position === r.seq - 1)).toBe(true);
      expect(await world.env.redis.zcard(coupon.keys.pending)).toBe(500);
      expect(await world.env.redis.hlen(coupon.keys.users)).toBe(500);
    } finally {
      for (const connection of connections) connection.disconnect();
    }
  });
});
