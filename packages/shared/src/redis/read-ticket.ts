import type { RedisClient } from './client.ts';
import { couponKeys, ticketKey } from './keys.ts';
import { decodeTicket, type StoredTicket } from './ticket-hash.ts';

export type { StoredTicket } from './ticket-hash.ts';

/**
 * Looks a ticket up among the coupons its id's tag points to (see ticket-id.ts; nearly always
 * one). Undefined if unknown or expired.
 */
export async function readTicket(
  redis: RedisClient,
  prefix: string,
  ticketId: string,
  candidateCoupons: readonly string[],
): Promise<StoredTicket | undefined> {
  for (const couponCode of candidateCoupons) {
    const [fields, rank] = await Promise.all([
      redis.hgetall(ticketKey(prefix, couponCode, ticketId)),
      redis.zrank(couponKeys(prefix, couponCode).pending, ticketId),
    ]);
    const ticket = decodeTicket(ticketId, couponCode, fields, rank);
    if (ticket) return ticket;
  }
  return undefined;
}
