import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import type { Kysely } from 'kysely';
import { walletOfUser, type Database } from '@coupons/shared/db';
import { identify } from '../http/identity.ts';

export function meRouter(db: Kysely<Database>): Router {
  const router = apiRouter();
  router.get('/v1/me/coupons', async (req, res) => {
    const userId = await identify(req);
    const wallet = await walletOfUser(db, userId);
    res.json(wallet.map((entry) => ({ ...entry, issuedAt: entry.issuedAt.toISOString() })));
  });
  return router;
}
