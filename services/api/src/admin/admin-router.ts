// The admin API (DESIGN.md "Operating an event"), mounted on the operations port only, and only
// when ADMIN_TOKEN is configured (app.ts). Routes stay thin: each use case is its own file.
import express, { type Request, type Router } from 'express';
import { findCouponByCode, listAudit, listCoupons } from '@coupons/shared/db';
import { auditQuerySchema, couponCodeSchema, createCouponBodySchema, patchCouponBodySchema } from '@coupons/shared/schemas';
import { HttpError } from '../errors/http-error.ts';
import { apiRouter } from '../http/api-router.ts';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { rejectNonJsonBody } from '../http/json-body.ts';
import { parseOr400 } from '../http/validate.ts';
import { buildAdminOpenApiDocument } from '../openapi/admin-document.ts';
import { adminOf, requireAdmin, type AdminSessions } from './admin-auth.ts';
import { adminCouponView, adminCouponViews, redisNowMs } from './admin-coupon-view.ts';
import { dependencyDown } from '../errors/dependency-failure.ts';
import type { AdminDeps } from './admin-deps.ts';
import type { AdminTokens } from './admin-tokens.ts';
import { changeCoupon } from './change-coupon.ts';
import { createCoupon } from './create-coupon.ts';
import { setRunState, type RunAction } from './set-run-state.ts';

export interface AdminRouterOptions {
  tokens: AdminTokens;
  /** The dashboard's signed-in browser sessions (its buttons call these routes). */
  sessions?: AdminSessions | undefined;
  /** Largest accepted JSON body (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
}

const codeOf = (req: Request) => parseOr400(couponCodeSchema, req.params.code, 'INVALID_COUPON_CODE', 'coupon code');

/** A body that must be there: JSON, parsed by `schema`, else 400 INVALID_BODY (415 for another media type). */
function bodyOf<T>(req: Request, schema: Parameters<typeof parseOr400<T>>[0]): T {
  rejectNonJsonBody(req);
  if (req.body === undefined) throw new HttpError('INVALID_BODY', 'Invalid request body: a JSON body is required.');
  return parseOr400(schema, req.body, 'INVALID_BODY', 'request body');
}

export function adminRouter(deps: AdminDeps, { tokens, sessions, bodyLimitBytes }: AdminRouterOptions): Router {
  const router = apiRouter();
  const document = JSON.stringify(buildAdminOpenApiDocument());
  // The document describes, it grants nothing: readable without a token, like the public one.
  router.get('/admin/v1/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });

  router.use('/admin/v1', requireAdmin(tokens, sessions));
  router.use('/admin/v1', express.json({ limit: bodyLimitBytes, strict: true, type: ['application/json', 'application/*+json'] }));

  /** The coupon's admin view, read back after a change (live figures and Redis's clock). */
  const viewOf = async (code: string) => {
    const row = await findCouponByCode(deps.db, code);
    if (!row) throw new HttpError('COUPON_NOT_FOUND');
    const [view] = await adminCouponViews(deps.scripts, [row], await redisNowMs(deps.redis));
    return view!;
  };

  router.post('/admin/v1/coupons', async (req, res) => {
    const body = bodyOf(req, createCouponBodySchema);
    const row = await createCoupon(deps, adminOf(res.locals), body);
    // Created is created: if Redis cannot give the live figures now, answer 201 without them (nothing admitted
    // yet anyway; the state on this process's clock) rather than a 503 whose retry would meet COUPON_EXISTS.
    const view = await viewOf(row.code).catch((error: unknown) => {
      if (!dependencyDown(error)) throw error;
      return adminCouponView(row, { pending: 0, admitted: 0 }, Date.now());
    });
    res.status(201).location(`/admin/v1/coupons/${row.code}`).json(view);
  });

  router.get('/admin/v1/coupons', async (_req, res) => {
    const [rows, nowMs] = await Promise.all([listCoupons(deps.db), redisNowMs(deps.redis)]);
    res.json(await adminCouponViews(deps.scripts, rows, nowMs));
  });

  router.get('/admin/v1/coupons/:code', async (req, res) => {
    res.json(await viewOf(codeOf(req)));
  });

  router.patch('/admin/v1/coupons/:code', async (req, res) => {
    const code = codeOf(req);
    const body = bodyOf(req, patchCouponBodySchema);
    await changeCoupon(deps, adminOf(res.locals), code, body);
    res.json(await viewOf(code));
  });

  for (const action of ['pause', 'resume', 'close'] as const satisfies readonly RunAction[]) {
    router.post(`/admin/v1/coupons/:code/${action}`, async (req, res) => {
      const code = codeOf(req);
      await setRunState(deps, adminOf(res.locals), code, action);
      res.json(await viewOf(code));
    });
  }

  router.get('/admin/v1/audit', async (req, res) => {
    const query = parseOr400(auditQuerySchema, req.query, 'INVALID_QUERY', 'query');
    const rows = await listAudit(deps.db, { limit: query.limit, couponCode: query.coupon });
    res.json(
      rows.map((row) => ({
        at: row.at.toISOString(),
        action: row.action,
        couponCode: row.coupon_code,
        tokenId: row.token_id,
        before: row.before ?? null,
        after: row.after ?? null,
      })),
    );
  });

  router.use(malformedParamProblem('INVALID_COUPON_CODE', 'coupon code'));
  return router;
}
