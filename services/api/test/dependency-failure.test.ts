import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { createDb, type Database } from '@coupons/shared/db';
import { createTestEnvironment, freePort, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { dependencyDown } from '../src/errors/dependency-failure.ts';

/**
 * Runs `use` with the port of a TCP server that treats each connection with `onConnection`
 * (never answering, or hanging up: what pg's connect sees of a dead or dying Postgres), and
 * destroys the databases opened on it with createDbOn.
 */
const opened: Kysely<Database>[] = [];
const createDbOn = (port: number, maxConnections?: number) => {
  const db = createDb(`postgres://postgres@127.0.0.1:${port}/coupons`, { maxConnections });
  opened.push(db);
  return db;
};
async function withServer(onConnection: (socket: Socket) => void, use: (port: number) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnection(socket);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await use((server.address() as AddressInfo).port);
  } finally {
    await Promise.all(opened.splice(0).map((db) => db.destroy()));
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}

/** The error a promise rejects with (the test fails if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: Error) => error,
  );
}

describe('dependencyDown: Postgres errors, by SQLSTATE and by shape (real errors from a real server)', () => {
  let env: TestEnvironment;
  beforeAll(async () => {
    env = await createTestEnvironment();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it('57014 query canceled (statement_timeout) is Postgres not answering in time', async () => {
    const error = await failure(
      env.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL statement_timeout = 20`.execute(trx);
        await sql`SELECT pg_sleep(5)`.execute(trx);
      }),
    );
    expect((error as { code?: string }).code).toBe('57014');
    expect(dependencyDown(error)).toBe('Postgres');
  });

  it('a backend terminated mid-query (57P01, as on a Postgres shutdown or failover) is Postgres', async () => {
    const applicationName = `dependency-failure-${process.pid}-${Date.now()}`;
    const own = createDb(env.config.DATABASE_URL, { maxConnections: 1, applicationName });
    try {
      const query = failure(sql`SELECT pg_sleep(30)`.execute(own));
      const active = async () =>
        (await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE application_name = ${applicationName} AND state = 'active'`.execute(env.db)).rows[0]?.pid;
      const pid = await waitFor(active, { intervalMs: 10, message: 'the sleeping query to run' });
      await sql`SELECT pg_terminate_backend(${pid})`.execute(env.db);
      const error = await query;
      expect((error as { code?: string }).code).toBe('57P01');
      expect(dependencyDown(error)).toBe('Postgres');
    } finally {
      await own.destroy();
    }
  });

  it('a refused connection (a socket error from pg, whatever the port) is Postgres', async () => {
    const nowhere: Kysely<Database> = createDb(`postgres://postgres@127.0.0.1:${await freePort()}/coupons`);
    try {
      const error = await failure(sql`SELECT 1`.execute(nowhere));
      expect((error as { code?: string }).code).toBe('ECONNREFUSED');
      expect(dependencyDown(error)).toBe('Postgres');
    } finally {
      await nowhere.destroy();
    }
  });

  it.each([
    { what: '23505 unique violation', run: (db: Kysely<Database>) => sql`INSERT INTO coupon (id, code, name, discount_amount, total_quantity) SELECT gen_random_uuid(), code, name, discount_amount, total_quantity FROM coupon WHERE code = 'A0001'`.execute(db) },
    { what: '42P01 undefined table', run: (db: Kysely<Database>) => sql`SELECT * FROM no_such_table`.execute(db) },
    { what: '22P02 invalid text representation', run: (db: Kysely<Database>) => sql`SELECT 'not-a-uuid'::uuid`.execute(db) },
  ])('a bug is not an outage: $what stays a 500', async ({ run }) => {
    const error = await failure(run(env.db));
    expect((error as { severity?: string }).severity).toBe('ERROR');
    expect(dependencyDown(error)).toBeUndefined();
  });

  // Real errors from createDb's client, not look-alikes: the client that raised them is what
  // makes them Postgres's (their words alone do not: see the next describe).
  it("pg-pool's own connect timeout (its message is a constant of pg-pool) is Postgres", async () => {
    // A server that never answers, and one pool slot: the first query's connection times out
    // connecting, the second times out waiting for that slot (pg-pool's two connect timeouts).
    await withServer(() => {}, async (port) => {
      const db = createDbOn(port, 1);
      const errors = await Promise.all([failure(sql`SELECT 1`.execute(db)), failure(sql`SELECT 2`.execute(db))]);
      expect(errors.map((error) => error.message)).toEqual(['Connection terminated due to connection timeout', 'timeout exceeded when trying to connect']);
      for (const error of errors) expect(dependencyDown(error)).toBe('Postgres');
    });
    await withServer((socket) => socket.destroy(), async (port) => {
      const error = await failure(sql`SELECT 1`.execute(createDbOn(port)));
      expect(error.message).toBe('Connection terminated unexpectedly');
      expect(dependencyDown(error)).toBe('Postgres');
    });
  });
});

describe('dependencyDown: an error is Postgres only if the Postgres client raised it', () => {
  it("pg's and pg-pool's words from anywhere else are not Postgres", () => {
    expect(dependencyDown(new Error('timeout exceeded when trying to connect'))).toBeUndefined();
    expect(dependencyDown(new Error('Connection terminated unexpectedly'))).toBeUndefined();
  });

  it('a socket error from another client (an HTTP call, say) is not attributed to Postgres', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect', port: 5432 });
    expect(dependencyDown(refused)).toBeUndefined();
  });

  it('a server reply that looks like an outage is not Postgres unless the client raised it', () => {
    expect(dependencyDown(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' }))).toBeUndefined();
  });
});

describe('dependencyDown: Redis errors, by reply code and by ioredis shape', () => {
  it('a "not now" reply is Redis, another reply is a bug', () => {
    expect(dependencyDown(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."))).toBe('Redis');
    expect(dependencyDown(new ReplyError('CLUSTERDOWN The cluster is down'))).toBe('Redis');
    expect(dependencyDown(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBeUndefined();
  });

  it("ioredis's no-connection errors are Redis", () => {
    expect(dependencyDown(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe('Redis');
    expect(dependencyDown(new Error('Connection is closed.'))).toBe('Redis');
  });

  it('neither: an ordinary error, or something that is not an Error', () => {
    expect(dependencyDown(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeUndefined();
    expect(dependencyDown({ code: 'ECONNREFUSED' })).toBeUndefined();
  });
});
