import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { markingPostgresErrors } from './postgres-error-origin.ts';

// bigint (int8) as string is pg's default; counts we select are cast to int in SQL instead.

export interface CreateDbOptions {
  /** Largest pool size; the worker needs few connections, the API more. */
  maxConnections?: number;
  /** Server-side statement_timeout in ms (0 = none). */
  statementTimeoutMs?: number;
  /**
   * Client-side query timeout in ms. statement_timeout is enforced by the server, so it cannot
   * help when the server is cut off (a partition): this makes such a query fail instead of
   * hanging. Default: statement timeout + 1 s, or 5 s.
   */
  queryTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout in ms (0 = none). */
  idleInTransactionTimeoutMs?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
}

/**
 * A Kysely instance over a pg pool. Call `destroy()` to close it. Every error its queries and
 * connections raise is marked as the Postgres client's (isPostgresUnavailable reads the mark).
 */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 3_000,
    statement_timeout: options.statementTimeoutMs || undefined,
    query_timeout: options.queryTimeoutMs ?? (options.statementTimeoutMs ? options.statementTimeoutMs + 1_000 : 5_000),
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs || undefined,
    application_name: options.applicationName ?? 'coupons',
  });
  // An idle client losing its connection (Postgres restart) must not crash the process;
  // the next query gets a fresh connection or a clear error.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: markingPostgresErrors(pool) }) });
}
