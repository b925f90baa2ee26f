import { Router } from 'express';
import { sql, type Kysely } from 'kysely';
import type { Redis } from 'ioredis';

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

export function healthRouter(redis: Redis, db: Kysely<any>, readiness: Readiness): Router {
  const router = Router();
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
      check(() => redis.ping(), 1_000),
      check(() => sql`SELECT 1`.execute(db), 1_000),
    ]);
    const ok = redisState === 'ok' && postgresState === 'ok';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: { redis: redisState, postgres: postgresState } });
  });
  return router;
}
