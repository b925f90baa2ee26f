import type { RejectionReason, TicketStatus } from '../domain/ticket.ts';

/** A ticket as Redis holds it. */
export interface StoredTicket {
  ticketId: string;
  couponCode: string;
  userId: string;
  status: TicketStatus;
  reason?: RejectionReason;
  /** Requests ahead of it while queued. */
  position?: number;
  walletId?: string;
  issuedAt?: Date;
  createdAt: Date;
}

/**
 * Reads a ticket hash (its layout: lua/includes/ticket-hash.lua, the one place that writes it).
 * A hash without its user is partial (a write Redis lost half of) and counts as missing. The
 * wallet a ticket won has the ticket's id; hashes written before that was relied on carry it in
 * `walletId`, which is still honoured.
 */
export function decodeTicket(ticketId: string, couponCode: string, fields: Record<string, string>, rank: number | null): StoredTicket | undefined {
  if (!fields.status || !fields.user) return undefined;
  const status = fields.status as TicketStatus;
  return {
    ticketId,
    couponCode,
    userId: fields.user,
    status,
    reason: (fields.reason || undefined) as RejectionReason | undefined,
    position: status === 'queued' && rank !== null ? rank : undefined,
    walletId: fields.walletId || (status === 'issued' ? ticketId : undefined),
    issuedAt: fields.issuedAt ? new Date(Number(fields.issuedAt)) : undefined,
    createdAt: new Date(Number(fields.createdAt)),
  };
}
