import type { Redis } from 'ioredis';
import { couponKeys } from './keys.ts';
import type { TicketStatus, RejectionReason } from '../domain/ticket.ts';

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
 * Looks a ticket up among the coupons its id's tag points to (see ticket-id.ts; nearly always
 * one). Undefined if unknown or expired.
 */
export async function readTicket(
  redis: Redis,
  prefix: string,
  ticketId: string,
  candidateCoupons: readonly string[],
): Promise<StoredTicket | undefined> {
  for (const couponCode of candidateCoupons) {
    const keys = couponKeys(prefix, couponCode);
    const [fields, rank] = await Promise.all([
      redis.hgetall(`${keys.ticketPrefix}${ticketId}`),
      redis.zrank(keys.pending, ticketId),
    ]);
    if (!fields.status || !fields.user) continue;
    return {
      ticketId,
      couponCode,
      userId: fields.user,
      status: fields.status as TicketStatus,
      reason: (fields.reason || undefined) as RejectionReason | undefined,
      position: fields.status === 'queued' && rank !== null ? rank : undefined,
      walletId: fields.walletId || undefined,
      issuedAt: fields.issuedAt ? new Date(Number(fields.issuedAt)) : undefined,
      createdAt: new Date(Number(fields.createdAt)),
    };
  }
  return undefined;
}
