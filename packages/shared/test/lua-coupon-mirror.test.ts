import { describe, expect, it } from 'vitest';
import { couponScripts, decodeMirror } from '../src/redis/index.ts';
import { useRedisWorld } from './helpers.ts';

const world = useRedisWorld();
/** The run state of a coupon no operator has touched. */
const ACTIVE = { run: 'active', runVersion: 0 } as const;

/** The coupon mirror's scripts (includes/coupon-mirror.lua): what the heal writes and what the worker's checks read. */
describe('coupon mirror scripts (real Redis)', () => {
  const scripts = () => couponScripts(world.env.redis, world.env.config.REDIS_PREFIX);

  it('copies Postgres over the mirror as it is, even where the mirror was ahead, and clears the stale flag', async () => {
    const { code, keys } = await world.freshCoupon();
    await world.env.redis.hset(keys.meta, { total: 10, issued: 9, soldOut: '1', decidedSeq: 30, stale: '1' });
    expect(await scripts().copyMirror(code, { total: 10, issued: 4, decidedSeq: '12', ...ACTIVE })).toBe('0');
    expect(await world.env.redis.hgetall(keys.meta)).toEqual({ total: '10', issued: '4', soldOut: '0', decidedSeq: '12', run: 'active', runVersion: '0' });
  });

  it('flags sold out only when issued has reached the total', async () => {
    const { code, keys } = await world.freshCoupon();
    expect(await scripts().copyMirror(code, { total: 3, issued: 3, decidedSeq: 5, ...ACTIVE })).toBe('1');
    expect(await world.env.redis.hget(keys.meta, 'soldOut')).toBe('1');
    expect(await scripts().copyMirror(code, { total: 4, issued: 3, decidedSeq: 5, ...ACTIVE })).toBe('0');
    expect(await world.env.redis.hget(keys.meta, 'soldOut')).toBe('0');
  });

  it('stores a bigint decidedSeq to the digit (never through a Lua number)', async () => {
    const { code, keys } = await world.freshCoupon();
    await scripts().copyMirror(code, { total: 10, issued: 0, decidedSeq: '9007199254740993', ...ACTIVE });
    expect(await world.env.redis.hget(keys.meta, 'decidedSeq')).toBe('9007199254740993');
    expect((await scripts().readMirror(code)).decidedSeq).toBe('9007199254740993');
  });

  it('creates a whole mirror where none was (a heal after a loss)', async () => {
    const { code, keys } = await world.freshCoupon();
    await world.env.redis.del(keys.meta);
    await scripts().copyMirror(code, { total: 5, issued: 2, decidedSeq: 7, ...ACTIVE });
    expect(await world.env.redis.hgetall(keys.meta)).toEqual({ total: '5', issued: '2', soldOut: '0', decidedSeq: '7', run: 'active', runVersion: '0' });
    expect(await scripts().readMirror(code)).toEqual({ state: 'ok', issued: 2, decidedSeq: '7', runVersion: 0 });
  });

  it('reads the mirror as the batch read does: ok, stale once flagged (admissions refused), missing when gone', async () => {
    const { code, keys } = await world.freshCoupon(10);
    const read = async () => {
      const flat = await world.env.redis.readDecisionBatch(keys.pending, keys.meta, keys.seq, 10, keys.ticketPrefix);
      return { alone: await scripts().readMirror(code), withBatch: decodeMirror(flat) };
    };
    expect(await read()).toEqual({ alone: { state: 'ok', issued: 0, decidedSeq: '0', runVersion: 0 }, withBatch: { state: 'ok', issued: 0, decidedSeq: '0' } });

    expect(await scripts().flagMirrorStale(code)).toBe(1);
    expect((await read()).alone).toEqual({ state: 'stale', issued: 0, decidedSeq: '0', runVersion: 0 });
    expect((await read()).withBatch.state).toBe('stale');
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'not_ready', status: 'stale' });

    await world.env.redis.del(keys.meta);
    expect(await read()).toEqual({ alone: { state: 'missing', issued: 0, decidedSeq: '0', runVersion: -1 }, withBatch: { state: 'missing', issued: 0, decidedSeq: '0' } });
  });

  it("an operator's pause and close refuse admissions at once; resume admits again; an existing ticket is still shown", async () => {
    const { code, keys } = await world.freshCoupon(10);
    const holder = crypto.randomUUID();
    expect(await world.admit({ code, keys }, holder)).toMatchObject({ outcome: 'admitted' });
    expect(await scripts().setRunState(code, 'paused', 1, 60)).toBe(1);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'paused', status: 'paused', seq: 0 });
    expect(await world.admit({ code, keys }, holder)).toMatchObject({ outcome: 'existing', status: 'queued' });
    // A retried call (same version) changes nothing.
    expect(await scripts().setRunState(code, 'paused', 1, 60)).toBe(0);
    expect(await scripts().setRunState(code, 'active', 2, 60)).toBe(1);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'admitted', seq: 2 });
    expect(await scripts().setRunState(code, 'closed', 3, 60)).toBe(1);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'not_open', status: 'closed' });
    expect(await world.env.redis.ttl(keys.meta)).toBe(-1);
  });

  it('a closed coupon answers not open even when sold out; a paused sold-out one answers sold out', async () => {
    const { code, keys } = await world.freshCoupon(1);
    await scripts().copyMirror(code, { total: 1, issued: 1, decidedSeq: 1, run: 'paused', runVersion: 1 });
    expect(await world.admit({ code, keys }, crypto.randomUUID(), { decidedSeqFloor: 0 })).toMatchObject({ outcome: 'sold_out' });
    await scripts().setRunState(code, 'closed', 2, 60);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'not_open', status: 'closed' });
  });

  it('a heal that read Postgres before a pause cannot undo it: the run state only moves to a later version', async () => {
    const { code, keys } = await world.freshCoupon(10);
    await scripts().setRunState(code, 'paused', 4, 60);
    // The heal's copy carries version 3 (read before the pause): figures copied, run state kept.
    await scripts().copyMirror(code, { total: 10, issued: 2, decidedSeq: 2, run: 'active', runVersion: 3 });
    expect(await world.env.redis.hmget(keys.meta, 'issued', 'run', 'runVersion')).toEqual(['2', 'paused', '4']);
    await scripts().copyMirror(code, { total: 10, issued: 2, decidedSeq: 2, run: 'active', runVersion: 5 });
    expect(await world.env.redis.hget(keys.meta, 'run')).toBe('active');
  });

  it('a run state written onto a missing mirror keeps it missing (with a lifetime) until a heal makes it whole (lifetime removed, state kept)', async () => {
    const { code, keys } = await world.freshCoupon(10);
    await world.env.redis.del(keys.meta);
    expect(await scripts().setRunState(code, 'paused', 1, 600)).toBe(1);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'not_ready', status: 'missing' });
    expect(await scripts().readMirror(code)).toMatchObject({ state: 'missing' });
    expect(await world.env.redis.ttl(keys.meta)).toBeGreaterThan(0);
    await scripts().copyMirror(code, { total: 10, issued: 0, decidedSeq: 0, run: 'active', runVersion: 0 });
    expect(await world.env.redis.ttl(keys.meta)).toBe(-1);
    expect(await world.admit({ code, keys }, crypto.randomUUID())).toMatchObject({ outcome: 'paused' });
  });

  it('a mirror whose run state is older than Postgres\'s (a Redis gone back in time past a pause) admits nobody: flagged stale for a heal', async () => {
    const { code, keys } = await world.freshCoupon(10);
    await scripts().setRunState(code, 'paused', 3, 60);
    await scripts().setRunState(code, 'active', 4, 60);
    // Postgres holds version 5 (say, paused again) that this Redis never got.
    expect(await world.admit({ code, keys }, crypto.randomUUID(), { runVersionFloor: 5 })).toMatchObject({ outcome: 'not_ready', status: 'behind' });
    expect(await world.env.redis.hget(keys.meta, 'stale')).toBe('1');
    await scripts().copyMirror(code, { total: 10, issued: 0, decidedSeq: 0, run: 'paused', runVersion: 5 });
    expect(await world.admit({ code, keys }, crypto.randomUUID(), { runVersionFloor: 5 })).toMatchObject({ outcome: 'paused' });
    // A mirror from before run states (no runVersion) counts as version 0: a coupon never paused admits.
    await world.env.redis.hdel(keys.meta, 'run', 'runVersion');
    expect(await world.admit({ code, keys }, crypto.randomUUID(), { runVersionFloor: 0 })).toMatchObject({ outcome: 'admitted' });
  });

  it('decodeMirror: a reply without figures reads as nothing decided', () => {
    expect(decodeMirror(['missing'])).toEqual({ state: 'missing', issued: 0, decidedSeq: '0' });
    expect(decodeMirror(['ok', '41', '7', '0', 'ticket', '42', 'user'])).toEqual({ state: 'ok', issued: 7, decidedSeq: '41' });
  });
});
