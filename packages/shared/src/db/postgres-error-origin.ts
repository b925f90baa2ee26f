import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';
import { markDependencyError } from '../runtime/dependency-origin.ts';

/**
 * The pg pool as Kysely sees it, with every error of a connection or a query (acquiring a
 * connection, a query, a transaction's BEGIN/COMMIT/ROLLBACK, which Kysely runs as queries)
 * marked as coming from the Postgres client. This is the one place that knows an error is Postgres's:
 * a refused socket, pg-pool's connect timeout or pg's "Connection terminated" say nothing about
 * which client raised them, so classifying them later by message or by port is guesswork.
 *
 * The error itself is rethrown, only marked: a constraint violation is still pg's DatabaseError
 * with its SQLSTATE for whoever catches it.
 */
export function markingPostgresErrors(pool: pg.Pool): PostgresPool {
  // One wrapper per pg client: Kysely keeps its connection objects in a WeakMap keyed by the
  // client the pool hands out, so a new wrapper on every checkout would defeat that reuse.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient) => {
    let wrapper = wrappers.get(client);
    if (!wrapper) wrappers.set(client, (wrapper = new MarkingClient(client)));
    return wrapper;
  };
  return {
    connect: () => pool.connect().then(wrap, rethrowMarked),
    // Not marked: ending a pool twice is our bug, not Postgres failing.
    end: () => pool.end(),
  };
}

function rethrowMarked(error: unknown): never {
  throw markDependencyError(error, 'Postgres');
}

class MarkingClient implements PostgresPoolClient {
  constructor(private readonly client: pg.PoolClient) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor === 'string') {
      // pg's own result type is wider than Kysely's (command is any string); Kysely reads it the same way.
      return (this.client.query(sqlOrCursor, parameters as unknown[]) as unknown as Promise<PostgresQueryResult<R>>).catch(rethrowMarked);
    }
    // A cursor (streaming; no dialect here configures one) is handed to pg as it is: pg drives
    // it. Kysely reads rows through the wrapper, so its read and close errors are marked too.
    const cursor = this.client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    return {
      read: (rowCount) => cursor.read(rowCount).catch(rethrowMarked),
      close: () => cursor.close().catch(rethrowMarked),
    };
  }

  // Not marked: pg-pool throws here only for a client released twice, which is our bug.
  release(destroy?: boolean): void {
    this.client.release(destroy);
  }
}
