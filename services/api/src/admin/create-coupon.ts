// POST /admin/v1/coupons: a new coupon, served by every API replica and worker within a second.
import { sql } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { insertAudit, insertCoupon, type CouponRow } from '@coupons/shared/db';
import type { CreateCouponBody } from '@coupons/shared/schemas';
import { HttpError } from '../errors/http-error.ts';
import type { AdminIdentity } from './admin-tokens.ts';
import { announceQuietly, auditSnapshot, windowChecked, type AdminDeps } from './admin-deps.ts';

/**
 * 1. Postgres: the coupon and its audit row in one transaction (the unique code answers a
 *    duplicate: 409 COUPON_EXISTS, nothing written).
 * 2. Redis: the mirror of an untouched coupon, as a worker's heal would write it (what
 *    openUntouchedCoupon does for the seeded ones in tests), so the first requests of its burst do
 *    not wait for a heal. If Redis cannot take it now the coupon still exists: admission finds no
 *    mirror and asks a worker to heal it, which writes the same thing.
 * 3. Every process is told (pub/sub): the API catalogs learn the code, the workers check its state.
 */
export async function createCoupon(deps: AdminDeps, admin: AdminIdentity, body: CreateCouponBody): Promise<CouponRow> {
  const row = await windowChecked(deps.db.transaction().execute(async (trx) => {
    const created = await insertCoupon(trx, {
      id: uuidv7(),
      code: body.code,
      name: body.name,
      discount_amount: body.discountAmount,
      total_quantity: body.totalQuantity,
      starts_at: body.startsAt ?? (sql<Date>`now()` as never),
      ends_at: body.endsAt ?? null,
    });
    if (!created) throw new HttpError('COUPON_EXISTS', `Coupon ${body.code} already exists.`);
    await insertAudit(trx, { action: 'create', couponCode: created.code, tokenId: admin.tokenId, before: null, after: auditSnapshot(created) });
    return created;
  }));
  try {
    await deps.scripts.copyMirror(row.code, { total: row.total_quantity, issued: 0, decidedSeq: 0, run: 'active', runVersion: row.state_version });
  } catch (error) {
    deps.log.warn({ coupon: row.code, err: (error as Error).message }, 'new coupon: its Redis mirror waits for a worker heal (Redis refused it now)');
  }
  await announceQuietly(deps, row.code);
  return row;
}
