/**
 * In-process test support for the worker's units: the real Redis and Postgres of
 * createTestEnvironment() (own database, own key prefix), WorkerDeps built the way main.ts
 * builds them, and small helpers to put coupons, tickets and wallets where a test wants them.
 * Nothing here mocks Redis or Postgres.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { loadConfig, type Config } from '@coupons/shared/config';
import { createDb, type Database } from '@coupons/shared/db';
import { newTicketId } from '@coupons/shared/domain';
import { couponScripts, couponKeys, decodeTicket, ticketKey, type CouponKeys } from '@coupons/shared/redis';
import { createLogger } from '@coupons/shared/runtime';
import { createTestEnvironment, openUntouchedCoupon, type TestEnvironment } from '@coupons/shared/testing';
import type { WorkerDeps } from '../../src/worker-deps.ts';

/** One log line as pino wrote it. */
export interface LogEntry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger at `debug` whose lines are kept in memory, so tests can assert what the worker reported. */
export function capturingLogger(): { log: Logger; entries: LogEntry[]; messages: (text: string | RegExp) => LogEntry[] } {
  const entries: LogEntry[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  const log = pino({ name: 'test', level: 'debug' }, stream);
  return {
    log,
    entries,
    messages: (text) => entries.filter((entry) => (typeof text === 'string' ? entry.msg === text : text.test(entry.msg))),
  };
}

export interface WorkerTestEnvironment {
  env: TestEnvironment;
  /** What the worker's units take; `db` has the worker's statement timeout, as in main.ts. */
  deps: WorkerDeps;
  config: Config;
  prefix: string;
  keysOf(couponCode: string): CouponKeys;
  /** A second set of deps over the same Redis and Postgres, with other config values or another logger. */
  depsWith(overrides: Partial<Config>, log?: Logger): WorkerDeps;
  /** A BullMQ connection (maxRetriesPerRequest: null), closed by cleanup. */
  bullConnection(): Redis;
  cleanup(): Promise<void>;
}

/**
 * Creates the isolated environment and the in-process WorkerDeps. `log` defaults to a silent
 * logger; pass capturingLogger().log to assert on log lines.
 */
export async function createWorkerTestEnvironment(
  overrides: Record<string, string> = {},
  log: Logger = createLogger('test', 'silent'),
): Promise<WorkerTestEnvironment> {
  const env = await createTestEnvironment(overrides);
  const config = loadConfig(env.env);
  const dbs: Kysely<Database>[] = [];
  const connections: Redis[] = [];
  const workerDb = () => {
    const db = createDb(config.DATABASE_URL, {
      maxConnections: 4,
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
      applicationName: 'coupons-worker-unit-test',
    });
    dbs.push(db);
    return db;
  };
  const db = workerDb();
  const deps: WorkerDeps = { config, log, redis: env.redis, db };
  return {
    env,
    deps,
    config,
    prefix: config.REDIS_PREFIX,
    keysOf: (couponCode) => couponKeys(config.REDIS_PREFIX, couponCode),
    depsWith: (configOverrides, otherLog = log) => ({ ...deps, log: otherLog, config: { ...config, ...configOverrides } }),
    bullConnection() {
      const connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      connections.push(connection);
      return connection;
    },
    async cleanup() {
      await Promise.allSettled(connections.map((connection) => connection.quit()));
      await Promise.all(dbs.map((one) => one.destroy()));
      await env.cleanup();
    },
  };
}

export interface CouponOptions {
  issued?: number;
  decidedSeq?: number;
  lockFence?: number;
  endsAt?: Date | null;
  startsAt?: Date;
}

/** Inserts a coupon row (open now unless told otherwise); returns its id. */
export async function insertCoupon(db: Kysely<Database>, code: string, totalQuantity: number, options: CouponOptions = {}): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('coupon')
    .values({
      id,
      code,
      name: `Unit ${code}`,
      discount_amount: 100,
      total_quantity: totalQuantity,
      issued_quantity: options.issued ?? 0,
      decided_seq: options.decidedSeq ?? 0,
      lock_fence: options.lockFence ?? 0,
      starts_at: options.startsAt ?? new Date(Date.now() - 60_000),
      ends_at: options.endsAt ?? null,
    })
    .execute();
  return id;
}

/** Inserts a wallet directly (as a committed batch would have); returns its id. */
export async function insertWallet(db: Kysely<Database>, couponId: string, userId: string, walletId: string = uuidv7()): Promise<string> {
  await db.insertInto('coupon_wallet').values({ id: walletId, coupon_id: couponId, user_id: userId }).execute();
  return walletId;
}

export async function couponRow(db: Kysely<Database>, code: string) {
  return db.selectFrom('coupon').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
}

export async function walletCount(db: Kysely<Database>, couponId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM coupon_wallet WHERE coupon_id = ${couponId}`.execute(db);
  return rows[0]!.n;
}

export interface AdmittedTicket {
  ticketId: string;
  userId: string;
  seq: number;
}

/** Admits one request the way the API does (admit-4.lua); fails the test if it is not admitted. */
export async function admit(
  t: WorkerTestEnvironment,
  couponCode: string,
  userId: string = crypto.randomUUID(),
  decidedSeqFloor: number | string = 0,
): Promise<AdmittedTicket> {
  const result = await couponScripts(t.env.redis, t.prefix).admit({
    couponCode,
    userId,
    ticketId: newTicketId(couponCode),
    maxBacklog: 100_000,
    startsAt: new Date(0),
    endsAt: null,
    decidedSeqFloor,
  });
  if (result.outcome !== 'admitted') throw new Error(`expected ${couponCode} to admit ${userId}, got ${result.outcome} (${result.status})`);
  return { ticketId: result.ticketId, userId, seq: result.seq };
}

/** Opens the coupon's mirror (nothing decided yet) and admits `count` distinct users, in order. */
export async function openAndAdmit(t: WorkerTestEnvironment, couponCode: string, total: number, count: number): Promise<AdmittedTicket[]> {
  await openUntouchedCoupon(t.env.redis, t.prefix, couponCode, total);
  const tickets: AdmittedTicket[] = [];
  for (let i = 0; i < count; i++) tickets.push(await admit(t, couponCode));
  return tickets;
}

export function ticketOf(t: WorkerTestEnvironment, couponCode: string, ticketId: string): Promise<Record<string, string>> {
  return t.env.redis.hgetall(ticketKey(t.prefix, couponCode, ticketId));
}

/** The ticket as readers see it (decodeTicket: e.g. a winner's walletId is its ticket id), or undefined. */
export async function decodedTicketOf(t: WorkerTestEnvironment, couponCode: string, ticketId: string) {
  return decodeTicket(ticketId, couponCode, await ticketOf(t, couponCode, ticketId), null);
}

export async function statusesOf(t: WorkerTestEnvironment, couponCode: string, tickets: AdmittedTicket[]): Promise<(string | null)[]> {
  return Promise.all(tickets.map((ticket) => t.env.redis.hget(ticketKey(t.prefix, couponCode, ticket.ticketId), 'status')));
}
