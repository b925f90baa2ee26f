import { Router } from 'express';
import type { Kysely } from 'kysely';
import { walletOfUser, type Database } from '@coupons/shared/db';
import { identify } from '../http/identity.ts';

export function meRouter(db: Kysely<Database>): Router {
  const router = Router();
  router.get('/v1/me/coupons', async (req, res) => {
    const userId = await identify(req);
    const wallet = await walletOfUser(db, userId);
    res.json(wallet.map((entry) => ({ ...entry, issuedAt: entry.issuedAt.toISOString() })));
  });
  return router;
}
