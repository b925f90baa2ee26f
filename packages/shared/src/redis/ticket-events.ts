import { z } from 'zod';
import { REJECTION_REASONS, type RejectionReason } from '../domain/ticket.ts';

/**
 * Tickets pushed over SSE (issue 13): the worker publishes one message per decided batch, after
 * the batch's commit and its resolve in Redis; every API process holds one subscription to the
 * channel and fans the message out to the ticket streams it serves. This file is the one place
 * both sides take the channel name and the message layout from.
 *
 * A message is a hint, not the truth: Pub/Sub delivers at most once (a subscriber that is
 * reconnecting misses it). The API re-reads what it serves after a reconnect and periodically,
 * so a lost message delays an event, it never loses one.
 */

/** The Pub/Sub channel of a deployment (`REDIS_PREFIX`): several deployments may share one Redis. */
export function ticketEventsChannel(prefix: string): string {
  return `${prefix}:ticket-events`;
}

/** One decided ticket: issued (with its wallet's issue time, ms) or rejected (with why). */
export type DecidedTicket =
  | { ticketId: string; status: 'issued'; issuedAtMs: number }
  | { ticketId: string; status: 'rejected'; reason?: RejectionReason };

/** A decided batch as the API learns of it. */
export interface DecidedBatch {
  couponCode: string;
  /** Postgres's decided high-water mark (highest arrival sequence decided) after the batch. */
  decidedSeq: string;
  /** When the worker saw the batch's commit (ms, the worker's clock): commit → client latency. */
  committedAtMs: number;
  tickets: DecidedTicket[];
}

// On the wire, tickets are tuples: a 500-ticket batch is ~25 KB instead of ~50 KB, sent to every API.
const wireSchema = z.object({
  v: z.literal(1),
  coupon: z.string().min(1),
  decidedSeq: z.string().regex(/^\d+$/),
  committedAt: z.number().int().nonnegative(),
  tickets: z.array(
    z.union([
      z.tuple([z.string().min(1), z.literal('i'), z.number().int().nonnegative()]),
      z.tuple([z.string().min(1), z.literal('r'), z.enum(REJECTION_REASONS).nullable()]),
    ]),
  ),
});

/** The message the worker publishes for `batch`. */
export function encodeDecidedBatch(batch: DecidedBatch): string {
  return JSON.stringify({
    v: 1,
    coupon: batch.couponCode,
    decidedSeq: batch.decidedSeq,
    committedAt: batch.committedAtMs,
    tickets: batch.tickets.map((ticket) =>
      ticket.status === 'issued' ? [ticket.ticketId, 'i', ticket.issuedAtMs] : [ticket.ticketId, 'r', ticket.reason ?? null],
    ),
  });
}

/** The batch a message carries, or undefined if it is not one (another version, garbage). */
export function decodeDecidedBatch(message: string): DecidedBatch | undefined {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return undefined;
  }
  const parsed = wireSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { coupon, decidedSeq, committedAt, tickets } = parsed.data;
  return {
    couponCode: coupon,
    decidedSeq,
    committedAtMs: committedAt,
    tickets: tickets.map((tuple): DecidedTicket =>
      tuple[1] === 'i' ? { ticketId: tuple[0], status: 'issued', issuedAtMs: tuple[2] } : { ticketId: tuple[0], status: 'rejected', ...(tuple[2] && { reason: tuple[2] }) },
    ),
  };
}
