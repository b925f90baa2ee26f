import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { couponKeys, ticketKey } from '@coupons/shared/redis';
import { openUntouchedCoupon } from '@coupons/shared/testing';
import { PROBLEMS, problemType, type ProblemCode, type ProblemCodeWith } from '../src/errors/problem-catalog.ts';
import { startTestApi, type TestApi, type TestApiOptions } from './api-harness.ts';

/** What a test needs of an HTTP answer; `body` is parsed when the answer is JSON. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export interface RequestOptions {
  /** Sent as X-User-Id when given. */
  userId?: string;
  /** An object is sent as JSON; a string is sent as it is, labelled application/json. */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Creates something before the file's (or describe's) tests and disposes of it after them. The
 * stand-in returned at once forwards to it, so tests use it like the real thing.
 */
export function useBeforeAll<T extends object>(create: () => Promise<T>, dispose: (value: T) => Promise<void>): T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await create();
  });
  afterAll(async () => {
    if (value) await dispose(value);
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (!value) throw new Error('used outside the tests (before beforeAll ran)');
      return Reflect.get(value, key);
    },
  });
}

/** One API for the file, over its own database and Redis prefix. */
export const useTestApi = (overrides: Record<string, string> = {}, options: () => TestApiOptions = () => ({})): TestApi =>
  useBeforeAll(() => startTestApi(overrides, options()), (t) => t.close());

export const newUserId = (): string => randomUUID();

export async function send(t: TestApi, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.userId !== undefined) headers['x-user-id'] = options.userId;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${t.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  const isJson = /json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, text, body: isJson ? JSON.parse(text) : undefined };
}

export const get = (t: TestApi, path: string, userId?: string): Promise<Reply> => send(t, 'GET', path, { userId });

export const post = (t: TestApi, path: string, userId?: string, body?: unknown): Promise<Reply> =>
  send(t, 'POST', path, { userId, body });

/** POST /v1/coupons/{code}/issue-requests as `userId`. */
export const requestCoupon = (t: TestApi, code: string, userId: string, body?: unknown): Promise<Reply> =>
  post(t, `/v1/coupons/${code}/issue-requests`, userId, body);

/**
 * An RFC 9457 problem with exactly the contract's fields: the catalog's status (on the answer and
 * mirrored in the body), title and type for `code`, and a detail. problem-catalog.test.ts pins
 * each code's status to the contract, so a status is asserted here without being repeated.
 */
export function expectProblem(res: Reply, code: ProblemCode): void {
  const { status, title } = PROBLEMS[code];
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
  expect(Object.keys(res.body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
  expect(res.body.status).toBe(status);
  expect({ type: res.body.type, title: res.body.title }).toEqual({ type: problemType(code), title });
  for (const field of ['type', 'title', 'detail'] as const) expect(res.body[field]).toEqual(expect.stringMatching(/\S/));
}

/** A 503 the client can act on: the problem, and a Retry-After in whole seconds. */
export function expectRetryLater(res: Reply, code: ProblemCodeWith<503>): void {
  expectProblem(res, code);
  expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
}

/** Every job in the queue (every shard), whatever its state. */
export async function countJobs(t: TestApi): Promise<number> {
  const counts = await Promise.all(t.queues.all.map((queue) => queue.getJobCounts()));
  return counts.flatMap((count) => Object.values(count)).reduce((sum, n) => sum + n, 0);
}

export interface CouponWindow {
  code: string;
  startsAt: Date;
  endsAt?: Date | null;
  totalQuantity?: number;
  discountAmount?: number;
}

/** Adds a coupon to the test database (the API learns of it when asked for an unknown code), its fast path open as a worker leaves it. */
export async function insertCoupon(t: TestApi, coupon: CouponWindow): Promise<string> {
  const id = uuidv7();
  await t.env.db
    .insertInto('coupon')
    .values({
      id,
      code: coupon.code,
      name: `Coupon ${coupon.code}`,
      discount_amount: coupon.discountAmount ?? 500,
      total_quantity: coupon.totalQuantity ?? 10,
      starts_at: coupon.startsAt,
      ends_at: coupon.endsAt ?? null,
    })
    .execute();
  await openUntouchedCoupon(t.env.redis, t.env.config.REDIS_PREFIX, coupon.code, coupon.totalQuantity ?? 10);
  return id;
}

/** Marks a coupon sold out the way the worker does: the `soldOut` flag of its meta hash. */
export async function markSoldOut(t: TestApi, code: string): Promise<void> {
  await t.env.redis.hset(couponKeys(t.env.config.REDIS_PREFIX, code).meta, 'soldOut', '1');
}

export type Decision =
  | { status: 'issued'; walletId: string; issuedAtMs: number }
  | { status: 'rejected'; reason: 'SOLD_OUT' | 'ALREADY_ISSUED' };

/** Decides a queued ticket the way the worker's resolve-batch script does (fields and pending set). */
export async function decideTicket(t: TestApi, code: string, ticketId: string, decision: Decision): Promise<void> {
  const prefix = t.env.config.REDIS_PREFIX;
  const fields =
    decision.status === 'issued'
      ? { status: 'issued', walletId: decision.walletId, issuedAt: String(decision.issuedAtMs) }
      : { status: 'rejected', reason: decision.reason };
  await t.env.redis.multi().zrem(couponKeys(prefix, code).pending, ticketId).hset(ticketKey(prefix, code, ticketId), fields).exec();
}
