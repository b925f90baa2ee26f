// PATCH /admin/v1/coupons/{code}: a coupon's fields, within what its state still allows.
import { lockCouponByCode, insertAudit, updateCoupon, type CouponChanges, type CouponRow } from '@coupons/shared/db';
import type { PatchCouponBody } from '@coupons/shared/schemas';
import { HttpError } from '../errors/http-error.ts';
import type { AdminIdentity } from './admin-tokens.ts';
import { announceQuietly, auditSnapshot, windowChecked, type AdminDeps } from './admin-deps.ts';
import { hasOpened, redisNowMs } from './admin-coupon-view.ts';

/**
 * Under the coupon's row lock, with the audit row in the same transaction:
 * - `name`, `discountAmount`: any time (before a close);
 * - `totalQuantity`, `startsAt`, a later `endsAt` or none: only before the window opens (Redis's
 *   clock, as admission judges it), else 409 EVENT_STARTED. Once requests were answered SOLD_OUT,
 *   more stock would break the first-come promise; a moved start would reorder who was early;
 * - an earlier `endsAt`: any time (it only ends the event sooner).
 * A closed coupon changes no more (409 EVENT_CLOSED). The window reaches the API replicas with
 * the change announcement (the catalog passes it to the admission script): within a second, not
 * atomically like a pause or close; use close to stop an event at once.
 */
export async function changeCoupon(deps: AdminDeps, admin: AdminIdentity, code: string, body: PatchCouponBody): Promise<CouponRow> {
  const nowMs = await redisNowMs(deps.redis);
  const row = await windowChecked(
    deps.db.transaction().execute(async (trx) => {
      const before = await lockCouponByCode(trx, code);
      if (!before) throw new HttpError('COUPON_NOT_FOUND');
      if (before.closed_at) throw new HttpError('EVENT_CLOSED', `Coupon ${code} is closed; it changes no more.`);
      const frozen = frozenFieldsChanged(before, body);
      if (frozen.length > 0 && hasOpened(before, nowMs)) {
        throw new HttpError('EVENT_STARTED', `Coupon ${code} has opened: ${frozen.join(', ')} can no longer change.`);
      }
      const changes: CouponChanges = {
        ...(body.name !== undefined && { name: body.name }),
        ...(body.discountAmount !== undefined && { discount_amount: body.discountAmount }),
        ...(body.totalQuantity !== undefined && { total_quantity: body.totalQuantity }),
        ...(body.startsAt !== undefined && { starts_at: body.startsAt }),
        ...(body.endsAt !== undefined && { ends_at: body.endsAt }),
      };
      const after = await updateCoupon(trx, before.id, changes);
      await insertAudit(trx, { action: 'update', couponCode: code, tokenId: admin.tokenId, before: auditSnapshot(before), after: auditSnapshot(after) });
      return after;
    }),
  );
  await announceQuietly(deps, code);
  return row;
}

/** The fields of `body` that may change only before the window opens, where they differ from the row. */
function frozenFieldsChanged(row: CouponRow, body: PatchCouponBody): string[] {
  const frozen: string[] = [];
  if (body.totalQuantity !== undefined && body.totalQuantity !== row.total_quantity) frozen.push('totalQuantity');
  if (body.startsAt !== undefined && body.startsAt.getTime() !== row.starts_at.getTime()) frozen.push('startsAt');
  if (body.endsAt !== undefined) {
    const later = body.endsAt === null ? row.ends_at !== null : row.ends_at !== null && body.endsAt > row.ends_at;
    if (later) frozen.push('a later endsAt');
  }
  return frozen;
}
