import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import { sql, type Kysely } from 'kysely';
import type { RedisClient } from '@coupons/shared/redis';

export interface Readiness {
  /** false once shutdown starts: the load balancer stops sending before in-flight requests finish. */
  accepting: boolean;
}

async function check(probe: () => Promise<unknown>, timeoutMs: number): Promise<string> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
    return 'ok';
  } catch (error) {
    return `unavailable: ${(error as Error).message.split('\n')[0]}`;
  }
}

/**
 * PING is answered by a Redis that refuses every write (OOM under noeviction, MISCONF,
 * NOREPLICAS, a READONLY replica), so readiness runs a script instead: a script with a `#!lua`
 * line and no `no-writes` flag counts as a write, so Redis (7+) refuses it up front exactly as it
 * would refuse an admission, yet it touches no key. Redis 6.2 does not know the shebang (a
 * compile error): there it falls back to PING.
 */
const WRITE_PROBE = '#!lua\nreturn 1';

async function probeRedisWrites(redis: RedisClient): Promise<unknown> {
  try {
    return await redis.eval(WRITE_PROBE, 0);
  } catch (error) {
    if (/Error compiling script/.test((error as Error).message)) return redis.ping();
    throw error;
  }
}

export function healthRouter(redis: RedisClient, db: Kysely<any>, readiness: Readiness, retryAfterSeconds: number): Router {
  const router = apiRouter();
  // Liveness: the process serves HTTP. Dependencies are readiness's business, so a Redis
  // outage never gets every API pod restarted.
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (!readiness.accepting) {
      res.status(503).json({ status: 'stopping' });
      return;
    }
    const [redisState, postgresState] = await Promise.all([
      check(() => probeRedisWrites(redis), 1_000),
      check(() => sql`SELECT 1`.execute(db), 1_000),
    ]);
    const ok = redisState === 'ok' && postgresState === 'ok';
    if (!ok) res.setHeader('Retry-After', String(retryAfterSeconds));
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: { redis: redisState, postgres: postgresState } });
  });
  return router;
}
