import { Router } from 'express';
import type { Redis } from 'ioredis';
import { ticketCouponTag } from '@coupons/shared/domain';
import { readTicket } from '@coupons/shared/redis';
import type { CouponCatalog } from '../coupons/coupon-catalog.ts';
import { ticketIdSchema } from '@coupons/shared/schemas';
import { requireUserId } from '../http/identity.ts';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { parseOr400 } from '../http/validate.ts';
import { HttpError } from '../errors/http-error.ts';

export function ticketsRouter(redis: Redis, prefix: string, catalog: CouponCatalog): Router {
  const router = Router();
  router.get('/v1/tickets/:ticketId', async (req, res) => {
    const userId = requireUserId(req);
    const ticketId = parseOr400(ticketIdSchema, req.params.ticketId, 'INVALID_TICKET_ID', 'ticket id').toLowerCase();
    const ticket = await readTicket(redis, prefix, ticketId, await catalog.codesTagged(ticketCouponTag(ticketId)));
    // Someone else's ticket is answered exactly like a missing one: ids are not an oracle.
    if (!ticket || ticket.userId !== userId) {
      throw new HttpError(404, 'TICKET_NOT_FOUND', `No ticket ${ticketId} for this user.`);
    }
    res.json({
      ticketId: ticket.ticketId,
      couponCode: ticket.couponCode,
      userId: ticket.userId,
      status: ticket.status,
      ...(ticket.reason && { reason: ticket.reason }),
      ...(ticket.position !== undefined && { position: ticket.position }),
      ...(ticket.walletId && { walletId: ticket.walletId }),
      ...(ticket.issuedAt && { issuedAt: ticket.issuedAt.toISOString() }),
      createdAt: ticket.createdAt.toISOString(),
    });
  });
  router.use(malformedParamProblem('INVALID_TICKET_ID', 'ticket id'));
  return router;
}
