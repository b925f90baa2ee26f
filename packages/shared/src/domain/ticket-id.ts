import { v7 as uuidv7 } from 'uuid';

/**
 * Ticket ids are UUIDv7 (time-ordered) whose 12 `rand_a` bits carry a tag of the coupon code.
 *
 * A ticket lives in its coupon's Redis hash slot (`{CODE}`), so a ticket id alone must lead
 * to its coupon. Rather than writing a ticket → coupon index on every admission and reading it
 * on every poll, the id carries the coupon's 12-bit tag: polling looks the ticket up under the
 * (almost always single) coupon with that tag. RFC 9562 leaves `rand_a` to the implementation;
 * the 62 random bits of `rand_b` keep ids unique within a millisecond.
 */
export function couponTag(couponCode: string): number {
  // FNV-1a, folded to 12 bits.
  let hash = 0x811c9dc5;
  for (let i = 0; i < couponCode.length; i++) {
    hash ^= couponCode.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ (hash >>> 12) ^ (hash >>> 24)) & 0xfff;
}

/** A new ticket id for this coupon (also the id of the wallet it may win). */
export function newTicketId(couponCode: string): string {
  const id = uuidv7();
  // xxxxxxxx-xxxx-7TTT-…: characters 15-17 are rand_a.
  return `${id.slice(0, 15)}${couponTag(couponCode).toString(16).padStart(3, '0')}${id.slice(18)}`;
}

/** The coupon tag a ticket id carries. */
export function ticketCouponTag(ticketId: string): number {
  return Number.parseInt(ticketId.slice(15, 18), 16);
}
