// The admin API's shapes (issue 13, DESIGN.md "Operating an event"): what validates its requests
// and answers also generates its OpenAPI document (services/api/src/openapi/admin-document.ts).
import { couponSchema } from './responses.ts';
import { z } from './zod.ts';

/** A new coupon's code: a letter, then 1-15 letters or digits (DESIGN.md). */
export const newCouponCodeSchema = z
  .string()
  .regex(/^[A-Z][0-9A-Z]{1,15}$/, 'a letter, then 1-15 upper-case letters or digits')
  .openapi({ example: 'D0001' });

/** An instant with its offset (ISO 8601), e.g. 2026-12-08T09:00:00Z or 2026-12-08T18:00:00+09:00. */
const instant = z.iso.datetime({ offset: true }).transform((text) => new Date(text));
const instantDoc = (description: string) => instant.openapi({ description, example: '2026-12-08T09:00:00Z', type: 'string', format: 'date-time' });

/** The most coupons one event may hand out: far above a flash event, far below int4. */
export const MAX_TOTAL_QUANTITY = 10_000_000;

const couponFields = {
  name: z.string().trim().min(1).max(100).openapi({ example: 'Coupon D' }),
  discountAmount: z.number().int().min(0).max(100_000_000).openapi({ example: 3000, description: 'KRW' }),
  totalQuantity: z.number().int().min(1).max(MAX_TOTAL_QUANTITY).openapi({ example: 500 }),
};

const windowOrdered = (body: { startsAt?: Date | undefined; endsAt?: Date | null | undefined }) =>
  !body.startsAt || !body.endsAt || body.endsAt > body.startsAt;

export const createCouponBodySchema = z
  .object({
    code: newCouponCodeSchema,
    ...couponFields,
    startsAt: instantDoc('When requests are first admitted (default: now), judged on Redis\'s clock.').optional(),
    endsAt: instantDoc('When admissions stop (default: no end).').optional(),
  })
  .strict()
  .refine(windowOrdered, { message: 'endsAt must be after startsAt', path: ['endsAt'] })
  .openapi('CreateCouponBody');
export type CreateCouponBody = z.output<typeof createCouponBodySchema>;

export const patchCouponBodySchema = z
  .object({
    name: couponFields.name.optional(),
    discountAmount: couponFields.discountAmount.optional(),
    totalQuantity: couponFields.totalQuantity.optional().openapi({ description: 'Only before the event opens (else 409 EVENT_STARTED).' }),
    startsAt: instantDoc('Only before the event opens (else 409 EVENT_STARTED).').optional(),
    endsAt: instantDoc('Earlier at any time; later, or null (no end), only before the event opens.').nullable().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one field to change' })
  .refine(windowOrdered, { message: 'endsAt must be after startsAt', path: ['endsAt'] })
  .openapi('PatchCouponBody');
export type PatchCouponBody = z.output<typeof patchCouponBodySchema>;

/** What an operator sees of a coupon: the window, the quantities and the operator's run state together. */
export const ADMIN_COUPON_STATES = ['scheduled', 'open', 'paused', 'closed', 'sold_out'] as const;
export type AdminCouponState = (typeof ADMIN_COUPON_STATES)[number];

export const adminCouponSchema = couponSchema
  .extend({
    state: z.enum(ADMIN_COUPON_STATES).openapi({
      description:
        'closed: closed by an operator or past endsAt; sold_out: every coupon issued; paused: paused by an operator; scheduled: before startsAt; open: admitting.',
    }),
    pending: z.number().int().min(0).openapi({ description: 'Admitted tickets not decided yet (Redis).' }),
    admitted: z.number().int().min(0).openapi({ description: 'Requests admitted so far: the arrival counter (Redis).' }),
    pausedAt: z.iso.datetime().nullable(),
    closedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('AdminCoupon');
export type AdminCoupon = z.output<typeof adminCouponSchema>;

export const AUDIT_ACTIONS = ['create', 'update', 'pause', 'resume', 'close'] as const;

export const auditEntrySchema = z
  .object({
    at: z.iso.datetime(),
    action: z.enum(AUDIT_ACTIONS),
    couponCode: z.string(),
    tokenId: z.string().openapi({ example: 'sha256:3f9a1c0b7d2e', description: 'The admin token\'s non-secret id: sha256: and 12 hex digits of its SHA-256.' }),
    before: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'The coupon before the change (null for a create).' }),
    after: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi('AuditEntry');

export const auditQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(1_000).default(100).openapi({ description: 'At most this many entries, newest first (default 100).' }),
    coupon: newCouponCodeSchema.optional().openapi({ description: 'Only this coupon\'s entries.' }),
  })
  .strict();
