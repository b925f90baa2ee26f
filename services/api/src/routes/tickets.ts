import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import type { RedisClient } from '@coupons/shared/redis';
import type { Kysely } from 'kysely';
import { findWalletById, type Database } from '@coupons/shared/db';
import { ticketCouponTag } from '@coupons/shared/domain';
import { readTicket, type StoredTicket } from '@coupons/shared/redis';
import type { CouponCatalog } from '../coupons/coupon-catalog.ts';
import { ticketIdSchema, type ticketSchema, type z } from '@coupons/shared/schemas';
import { identify } from '../http/identity.ts';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { parseOr400 } from '../http/validate.ts';
import { HttpError } from '../errors/http-error.ts';

/**
 * A ticket Redis no longer has (expired after its TTL, lost, or gone back in time) whose id is a
 * wallet id won that wallet: Postgres answers it as issued, so every winner always sees it.
 */
async function ticketFromWallet(db: Kysely<Database>, ticketId: string): Promise<StoredTicket | undefined> {
  const wallet = await findWalletById(db, ticketId);
  return (
    wallet && {
      ticketId,
      couponCode: wallet.couponCode,
      userId: wallet.userId,
      status: 'issued',
      walletId: wallet.walletId,
      issuedAt: wallet.issuedAt,
      createdAt: wallet.issuedAt,
    }
  );
}

/** What finding a ticket needs: the poll and the ticket streams (routes/ticket-events.ts) share it. */
export interface TicketLookup {
  redis: RedisClient;
  db: Kysely<Database>;
  prefix: string;
  catalog: CouponCatalog;
}

/** A ticket as the poll answers it (and as each SSE event carries it). */
export type TicketView = z.output<typeof ticketSchema>;

/**
 * The ticket `ticketId` names, wherever it still is: Redis, or (a winner's, once Redis forgot it)
 * Postgres. Undefined when nobody has it. The caller checks the owner.
 */
export async function lookupTicket({ redis, db, prefix, catalog }: TicketLookup, ticketId: string): Promise<StoredTicket | undefined> {
  const tagged = await catalog.codesTagged(ticketCouponTag(ticketId));
  // No coupon carries this id's tag: it is nobody's ticket, and Postgres is not asked.
  return tagged.length === 0 ? undefined : ((await readTicket(redis, prefix, ticketId, tagged)) ?? (await ticketFromWallet(db, ticketId)));
}

/** The caller's own ticket, or 404 TICKET_NOT_FOUND: someone else's is answered exactly like a missing one (ids are not an oracle). */
export async function lookupOwnTicket(lookup: TicketLookup, ticketId: string, userId: string): Promise<StoredTicket> {
  const ticket = await lookupTicket(lookup, ticketId);
  if (!ticket || ticket.userId !== userId) throw new HttpError('TICKET_NOT_FOUND');
  return ticket;
}

/** The poll's JSON for a ticket. */
export function ticketView(ticket: StoredTicket): TicketView {
  return {
    ticketId: ticket.ticketId,
    couponCode: ticket.couponCode,
    userId: ticket.userId,
    status: ticket.status,
    ...(ticket.reason && { reason: ticket.reason }),
    ...(ticket.position !== undefined && { position: ticket.position }),
    ...(ticket.walletId && { walletId: ticket.walletId }),
    ...(ticket.issuedAt && { issuedAt: ticket.issuedAt.toISOString() }),
    createdAt: ticket.createdAt.toISOString(),
  };
}

export function ticketsRouter(lookup: TicketLookup): Router {
  const router = apiRouter();
  router.get('/v1/tickets/:ticketId', async (req, res) => {
    const userId = await identify(req);
    const ticketId = parseOr400(ticketIdSchema, req.params.ticketId, 'INVALID_TICKET_ID', 'ticket id').toLowerCase();
    res.json(ticketView(await lookupOwnTicket(lookup, ticketId, userId)));
  });
  router.use(malformedParamProblem('INVALID_TICKET_ID', 'ticket id'));
  return router;
}
