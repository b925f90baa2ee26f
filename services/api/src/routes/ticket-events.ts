import type { Router } from 'express';
import { ticketIdSchema } from '@coupons/shared/schemas';
import { apiRouter } from '../http/api-router.ts';
import { identify } from '../http/identity.ts';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { parseOr400 } from '../http/validate.ts';
import { HttpError, unavailable } from '../errors/http-error.ts';
import type { TicketStreamHub } from '../sse/ticket-stream-hub.ts';
import { lookupOwnTicket, type TicketLookup } from './tickets.ts';

/**
 * `GET /v1/tickets/{ticketId}/events`: the ticket pushed as Server-Sent Events (DESIGN.md,
 * "Tickets pushed"). Identity and ownership exactly as the poll (anyone but the owner: 404
 * TICKET_NOT_FOUND); the events, their ids and the end: sse/ticket-stream.ts; where they come
 * from: sse/ticket-stream-hub.ts.
 *
 * The stream is registered with the hub (and the hub subscribed) before the ticket's first read,
 * so a decision published while the read is in flight still reaches it.
 */
export function ticketEventsRouter(lookup: TicketLookup, hub: TicketStreamHub, retryAfterSeconds: number): Router {
  const router = apiRouter();
  router.get('/v1/tickets/:ticketId/events', async (req, res) => {
    const userId = await identify(req);
    const ticketId = parseOr400(ticketIdSchema, req.params.ticketId, 'INVALID_TICKET_ID', 'ticket id').toLowerCase();
    const retryAfter = { 'Retry-After': String(retryAfterSeconds) };
    await hub.subscribed().catch(() => {
      throw hub.isClosing ? new HttpError('UNAVAILABLE', 'This server is shutting down; reconnect.', retryAfter) : unavailable(retryAfterSeconds, 'Redis');
    });
    // Checked right before registering (nothing awaits in between): the bound holds under a burst of connects.
    if (hub.isClosing) throw new HttpError('UNAVAILABLE', 'This server is shutting down; reconnect.', retryAfter);
    if (!hub.hasRoom) throw new HttpError('OVERLOADED', 'Too many ticket streams are open on this server; retry later, or poll the ticket.', retryAfter);
    const stream = hub.register(ticketId, res, req.get('last-event-id'));
    try {
      hub.start(stream, await lookupOwnTicket(lookup, ticketId, userId));
    } catch (error) {
      stream.abandon();
      throw error;
    }
  });
  router.use(malformedParamProblem('INVALID_TICKET_ID', 'ticket id'));
  return router;
}
