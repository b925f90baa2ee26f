import { isPostgresUnavailable } from '@coupons/shared/db';
import { isRedisUnavailable } from '@coupons/shared/redis';
import type { Dependency } from '@coupons/shared/runtime';

export type { Dependency } from '@coupons/shared/runtime';

/**
 * Whether an error means Redis or Postgres cannot serve us right now (as opposed to a bug):
 * these become 503 UNAVAILABLE with Retry-After, never a 500 and never a hang.
 *
 * Classified by which client failed, never by the port it came from (a proxy, a sentinel-resolved
 * primary or a non-default port would fool that) nor by what a message says:
 * - Redis: ioredis's own error classes: an error reply whose code means "not now" (OOM,
 *   READONLY, BUSY, …) or its no-connection errors (shared/redis/redis-refusal.ts).
 * - Postgres: errors createDb's client marked as its own (shared/db/postgres-error-origin.ts):
 *   a server reply whose SQLSTATE means "not now", or the connection itself failing
 *   (shared/db/postgres-unavailable.ts). A socket error from anywhere else is not Postgres's.
 */
export function dependencyDown(error: unknown): Dependency | undefined {
  if (!(error instanceof Error)) return undefined;
  if (isRedisUnavailable(error)) return 'Redis';
  if (isPostgresUnavailable(error)) return 'Postgres';
  return undefined;
}
