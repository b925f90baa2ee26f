export { z } from './zod.ts';
export { userIdSchema, userIdHeaderSchema, couponCodeSchema, ticketIdSchema, issueRequestBodySchema } from './params.ts';
export {
  ticketAcceptedSchema,
  ticketSchema,
  couponSchema,
  walletEntrySchema,
  problemSchema,
  healthSchema,
} from './responses.ts';
export {
  newCouponCodeSchema,
  createCouponBodySchema,
  patchCouponBodySchema,
  adminCouponSchema,
  auditEntrySchema,
  auditQuerySchema,
  ADMIN_COUPON_STATES,
  AUDIT_ACTIONS,
  MAX_TOTAL_QUANTITY,
  type CreateCouponBody,
  type PatchCouponBody,
  type AdminCoupon,
  type AdminCouponState,
} from './admin.ts';
