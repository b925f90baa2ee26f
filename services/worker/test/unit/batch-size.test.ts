import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { AdaptiveBatchSize, isStatementTimeout } from '../../src/drain/batch-size.ts';
import { createWorkerTestEnvironment, type WorkerTestEnvironment } from './in-process-harness.ts';

describe('AdaptiveBatchSize', () => {
  it('starts at the maximum and halves on every timeout, down to 1', () => {
    const size = new AdaptiveBatchSize(10);
    expect(size.current).toBe(10);
    const seen = [];
    for (let i = 0; i < 6; i++) {
      size.timedOut();
      seen.push(size.current);
    }
    expect(seen).toEqual([5, 2, 1, 1, 1, 1]);
  });

  it('doubles back after a run of successes, never above the maximum', () => {
    const size = new AdaptiveBatchSize(12, 3);
    size.timedOut(); // 6
    size.timedOut(); // 3
    expect(size.current).toBe(3);
    size.succeeded();
    size.succeeded();
    expect(size.current).toBe(3);
    size.succeeded();
    expect(size.current).toBe(6);
    for (let i = 0; i < 3; i++) size.succeeded();
    expect(size.current).toBe(12); // min(12, 12)
    for (let i = 0; i < 30; i++) size.succeeded();
    expect(size.current).toBe(12);
  });

  it('does not grow past the maximum when doubling overshoots it', () => {
    const size = new AdaptiveBatchSize(5, 1);
    size.timedOut(); // 2
    size.succeeded(); // 4
    size.succeeded(); // min(5, 8)
    expect(size.current).toBe(5);
  });

  it('a timeout resets the run of successes', () => {
    const size = new AdaptiveBatchSize(8, 2);
    size.timedOut(); // 4
    size.succeeded();
    size.timedOut(); // 2, run reset
    size.succeeded();
    expect(size.current).toBe(2);
    size.succeeded();
    expect(size.current).toBe(4);
  });

  it('uses 8 successes by default', () => {
    const size = new AdaptiveBatchSize(4);
    size.timedOut();
    for (let i = 0; i < 7; i++) size.succeeded();
    expect(size.current).toBe(2);
    size.succeeded();
    expect(size.current).toBe(4);
  });
});

describe('isStatementTimeout on real Postgres errors', () => {
  let t: WorkerTestEnvironment;
  beforeAll(async () => {
    t = await createWorkerTestEnvironment();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('is true for a statement cancelled by statement_timeout (57014)', async () => {
    const error = await t.env.db
      .connection()
      .execute(async (conn) => {
        await sql`SET statement_timeout = 50`.execute(conn);
        try {
          await sql`SELECT pg_sleep(5)`.execute(conn);
        } finally {
          await sql`RESET statement_timeout`.execute(conn);
        }
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/statement timeout/);
    expect(isStatementTimeout(error)).toBe(true);
  });

  it('is false for other errors and non-errors', async () => {
    const error = await sql`SELECT 1 / 0`.execute(t.env.db).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('22012');
    expect(isStatementTimeout(error)).toBe(false);
    expect(isStatementTimeout(new Error('57014'))).toBe(false);
    expect(isStatementTimeout(undefined)).toBe(false);
    expect(isStatementTimeout(null)).toBe(false);
    expect(isStatementTimeout({ code: 57014 })).toBe(false);
  });
});
