import { isRedisUnavailable } from '@coupons/shared/redis';

/**
 * Whether an error means Redis or Postgres cannot serve us right now (as opposed to a bug):
 * these become 503 UNAVAILABLE with Retry-After, never a 500 and never a hang.
 *
 * Classified by what the error is, never by the port it came from (a proxy, a sentinel-resolved
 * primary or a non-default port would fool that):
 * - Redis: an error reply whose code means "not now" (OOM, READONLY, BUSY, …: see
 *   shared/redis/redis-refusal.ts), or ioredis's own no-connection errors.
 * - Postgres: a server error (pg's DatabaseError) whose SQLSTATE means "not now", pg's own
 *   client-side connection errors, and plain socket errors (below).
 */
export type Dependency = 'Redis' | 'Postgres';

/**
 * SQLSTATEs that mean "not now": class 08 connection exception, class 53 insufficient resources
 * (53300 too many connections, disk full, out of memory), 57P01-57P03 admin/crash shutdown and
 * "cannot connect now" (starting up, in recovery), 57014 query canceled (statement_timeout).
 */
const POSTGRES_NOT_NOW = /^(08|53)|^57P0[123]$|^57014$/;

/** pg's and pg-pool's own messages for a connection they lost or could not make (constants in their source). */
const PG_CONNECTION_LOST = /^(Connection terminated( unexpectedly| due to connection timeout)?|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error and is not queryable)$/;

const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH',
]);

/** pg's DatabaseError: a server error reply, with the server's severity and a five-character SQLSTATE. */
function isPostgresServerError(error: Error): error is Error & { code: string } {
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}

/** A Node socket error (net/dns): `code` and `syscall` set by libuv. */
function isSocketError(error: Error): boolean {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  return typeof syscall === 'string' && typeof code === 'string' && SOCKET_ERROR_CODES.has(code);
}

export function dependencyDown(error: unknown): Dependency | undefined {
  if (!(error instanceof Error)) return undefined;
  if (isRedisUnavailable(error)) return 'Redis';
  if (isPostgresServerError(error)) return POSTGRES_NOT_NOW.test(error.code) ? 'Postgres' : undefined;
  if (PG_CONNECTION_LOST.test(error.message)) return 'Postgres';
  // A socket error names no client, so it is attributed by which client lets one reach a
  // request: pg does (pool.connect and a query on a broken socket reject with the socket's own
  // error), ioredis never does: it emits socket errors as 'error' events and fails commands with
  // its own errors, recognised above. Express and the HTTP layer do not throw these into routes.
  if (isSocketError(error)) return 'Postgres';
  return undefined;
}
