import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import type { Kysely } from 'kysely';
import { findCouponByCode, listCoupons, type CouponRow, type Database } from '@coupons/shared/db';
import { couponCodeSchema } from '@coupons/shared/schemas';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { parseOr400 } from '../http/validate.ts';
import { HttpError } from '../errors/http-error.ts';

/** The public coupon fields (the admin API's view adds its state and live figures to them). */
export function toCouponView(row: CouponRow) {
  return {
    code: row.code,
    name: row.name,
    discountAmount: row.discount_amount,
    totalQuantity: row.total_quantity,
    issuedQuantity: row.issued_quantity,
    remainingQuantity: row.total_quantity - row.issued_quantity,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at ? row.ends_at.toISOString() : null,
  };
}

/** Coupons as Postgres has them: issued counts are the committed truth. */
export function couponsRouter(db: Kysely<Database>): Router {
  const router = apiRouter();
  router.get('/v1/coupons', async (_req, res) => {
    res.json((await listCoupons(db)).map(toCouponView));
  });
  router.get('/v1/coupons/:code', async (req, res) => {
    const code = parseOr400(couponCodeSchema, req.params.code, 'INVALID_COUPON_CODE', 'coupon code');
    const row = await findCouponByCode(db, code);
    if (!row) throw new HttpError('COUPON_NOT_FOUND');
    res.json(toCouponView(row));
  });
  router.use(malformedParamProblem('INVALID_COUPON_CODE', 'coupon code'));
  return router;
}
