/** A ticket is queued until a worker decides it; issued and rejected are final. */
export type TicketStatus = 'queued' | 'issued' | 'rejected';

/** Why a ticket was rejected. */
export type RejectionReason = 'SOLD_OUT' | 'ALREADY_ISSUED';

export const TICKET_STATUSES = ['queued', 'issued', 'rejected'] as const satisfies readonly TicketStatus[];
export const REJECTION_REASONS = ['SOLD_OUT', 'ALREADY_ISSUED'] as const satisfies readonly RejectionReason[];

export function isFinal(status: string | null | undefined): boolean {
  return status === 'issued' || status === 'rejected';
}
