/**
 * Whether an error means Redis or Postgres could not be reached (as opposed to a bug):
 * these become 503 UNAVAILABLE with Retry-After, never a 500 and never a hang.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH',
]);

const REDIS_DOWN = /Stream isn't writeable|Connection is closed|enableOfflineQueue|Command timed out|max retries per request|Reached the max retries|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN/i;

// 'Query read timeout' is pg's client-side query_timeout: the server stopped answering mid-query.
const PG_DOWN = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|the database system is (starting up|shutting down|in recovery mode)|terminating connection|Client has encountered a connection error|Connection refused/i;

export type Dependency = 'Redis' | 'Postgres';

export function dependencyDown(error: unknown): Dependency | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const message = error.message ?? '';
  const name = error.constructor?.name ?? '';
  if (name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(message)) return 'Redis';
  // pg: class 08 = connection exception, 57P0x = operator intervention (shutdown, restart), 53300 too many connections.
  if (typeof code === 'string' && (/^08/.test(code) || /^57P0/.test(code) || code === '53300' || code === '57014')) return 'Postgres';
  if (PG_DOWN.test(message)) return 'Postgres';
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    const port = (error as { port?: number }).port;
    return port === 6379 ? 'Redis' : 'Postgres';
  }
  return undefined;
}
