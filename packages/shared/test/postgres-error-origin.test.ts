import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, isPostgresUnavailable } from '../src/db/index.ts';
import { DependencyError, failedDependency, markDependencyError } from '../src/runtime/index.ts';
import { freePort } from '../src/testing/index.ts';
import { useRedisWorld } from './helpers.ts';

/** The error a promise rejects with (the test fails if it resolves). */
const failure = (promise: Promise<unknown>): Promise<Error> => promise.then(() => expect.fail('expected a failure'), (error: Error) => error);

describe("createDb marks what its client raises as Postgres's, and changes nothing else about it", () => {
  // The file's own database (useRedisWorld sets up the whole test environment, Postgres included).
  const world = useRedisWorld();

  const duplicateCoupon = sql`INSERT INTO coupon (id, code, name, discount_amount, total_quantity) SELECT gen_random_uuid(), code, name, discount_amount, total_quantity FROM coupon WHERE code = 'A0001'`;

  it('a constraint violation is still pg\'s DatabaseError with its SQLSTATE (catch blocks rely on it), marked, and a bug', async () => {
    const error = await failure(duplicateCoupon.execute(world.env.db));
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect((error as pg.DatabaseError).code).toBe('23505');
    expect(failedDependency(error)).toBe('Postgres');
    expect(isPostgresUnavailable(error)).toBe(false);
  });

  it('the mark is not copied with the error\'s fields (non-enumerable), so logs and copies stay as they were', async () => {
    const error = await failure(duplicateCoupon.execute(world.env.db));
    expect(Object.getOwnPropertySymbols({ ...error })).toEqual([]);
  });

  it('inside a transaction too (BEGIN, the queries and COMMIT all go through the same client)', async () => {
    const error = await failure(world.env.db.transaction().execute((trx) => duplicateCoupon.execute(trx)));
    expect((error as pg.DatabaseError).code).toBe('23505');
    expect(failedDependency(error)).toBe('Postgres');
  });

  it('a refused connection is marked and is Postgres unavailable', async () => {
    const nowhere = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/coupons`);
    try {
      const error = await failure(sql`SELECT 1`.execute(nowhere));
      expect((error as { code?: string }).code).toBe('ECONNREFUSED');
      expect(failedDependency(error)).toBe('Postgres');
      expect(isPostgresUnavailable(error)).toBe(true);
    } finally {
      await nowhere.destroy();
    }
  });

  it('a parameter pg cannot serialise is our bug, not an outage, though the client raised it', async () => {
    const error = await failure(sql`SELECT ${{ n: 1n }}::jsonb`.execute(world.env.db));
    expect(error).toBeInstanceOf(TypeError);
    expect(failedDependency(error)).toBe('Postgres');
    expect(isPostgresUnavailable(error)).toBe(false);
  });
});

describe('markDependencyError / failedDependency', () => {
  it('marks the error in place and returns it', () => {
    const error = new Error('connect ECONNREFUSED');
    expect(markDependencyError(error, 'Postgres')).toBe(error);
    expect(failedDependency(error)).toBe('Postgres');
  });

  it('the first mark stays: the innermost wrapper knows best', () => {
    const error = markDependencyError(new Error('x'), 'Postgres');
    markDependencyError(error, 'Redis');
    expect(failedDependency(error)).toBe('Postgres');
  });

  it('wraps what cannot carry a mark, keeping it as the cause', () => {
    const wrapped = markDependencyError('gone', 'Postgres');
    expect(wrapped).toBeInstanceOf(DependencyError);
    expect((wrapped as DependencyError).cause).toBe('gone');
    expect(failedDependency(wrapped)).toBe('Postgres');
    expect(failedDependency(markDependencyError(Object.freeze(new Error('frozen')), 'Postgres'))).toBe('Postgres');
  });

  it('an unmarked error names no dependency, whatever it looks like', () => {
    const socketError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });
    expect(failedDependency(socketError)).toBeUndefined();
    expect(isPostgresUnavailable(socketError)).toBe(false);
    expect(failedDependency(undefined)).toBeUndefined();
  });
});
