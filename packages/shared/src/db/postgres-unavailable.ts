import pg from 'pg';
import { failedDependency } from '../runtime/dependency-origin.ts';

/**
 * SQLSTATEs that mean "not now": class 08 connection exception, class 53 insufficient resources
 * (53300 too many connections, disk full, out of memory), 57P01-57P03 admin/crash shutdown and
 * "cannot connect now" (starting up, in recovery), 57014 query canceled (statement_timeout).
 * Any other server reply (a constraint, a missing table, bad input) is a bug and stays one.
 */
const POSTGRES_NOT_NOW = /^(08|53)|^57P0[123]$|^57014$/;

/**
 * JavaScript's own error classes for a programming mistake (a parameter pg cannot serialise,
 * a null query). pg raises its connection failures (a socket error, "Connection terminated",
 * its query_timeout, pg-pool's connect timeout) as plain Errors, never as one of these.
 */
const isProgrammingError = (error: unknown): boolean =>
  error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError;

/**
 * Postgres cannot serve this now (unreachable, restarting, overloaded, too slow): retry later,
 * never a bug of ours. Only errors the Postgres client raised count (createDb marks them; see
 * postgres-error-origin.ts): of those, a server reply (pg's DatabaseError) by its SQLSTATE, and
 * anything else the client raised is the connection failing, whatever its message says.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  if (failedDependency(error) !== 'Postgres') return false;
  if (error instanceof pg.DatabaseError) return POSTGRES_NOT_NOW.test(error.code ?? '');
  return !isProgrammingError(error);
}
