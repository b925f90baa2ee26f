import { REJECTION_REASONS, TICKET_STATUSES } from '../domain/ticket.ts';
import { z } from './zod.ts';

export const ticketAcceptedSchema = z
  .object({
    ticketId: z.uuid(),
    couponCode: z.string(),
    status: z.enum(TICKET_STATUSES),
    position: z.number().int().min(0).optional().openapi({ description: 'Requests ahead of this one for the same coupon, while queued.' }),
    pollUrl: z.string().openapi({ example: '/v1/tickets/019a6b0e-3c5d-7f00-8a1b-2c3d4e5f6a7b' }),
  })
  .openapi('TicketAccepted');

export const ticketSchema = z
  .object({
    ticketId: z.uuid(),
    couponCode: z.string(),
    userId: z.uuid(),
    status: z.enum(TICKET_STATUSES),
    reason: z.enum(REJECTION_REASONS).optional(),
    position: z.number().int().min(0).optional(),
    walletId: z.uuid().optional(),
    issuedAt: z.iso.datetime().optional(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Ticket');

export const couponSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    discountAmount: z.number().int(),
    totalQuantity: z.number().int(),
    issuedQuantity: z.number().int(),
    remainingQuantity: z.number().int(),
    startsAt: z.iso.datetime(),
    endsAt: z.iso.datetime().nullable(),
  })
  .openapi('Coupon');

export const walletEntrySchema = z
  .object({
    walletId: z.uuid(),
    couponCode: z.string(),
    discountAmount: z.number().int(),
    issuedAt: z.iso.datetime(),
  })
  .openapi('WalletEntry');

/** RFC 9457 problem details, with a stable machine-readable `code`. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: 'SOLD_OUT' }),
  })
  .openapi('Problem');

export const healthSchema = z
  .object({ status: z.enum(['ok', 'unavailable', 'stopping']), checks: z.record(z.string(), z.string()).optional() })
  .openapi('Health');
