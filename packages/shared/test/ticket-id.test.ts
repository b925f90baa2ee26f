import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { couponTag, newTicketId, ticketCouponTag } from '../src/domain/index.ts';

describe('ticket ids', () => {
  it('are UUIDv7 (version 7, RFC variant) that carry their coupon tag', () => {
    for (const code of ['A0001', 'B0001', 'C0001', 'Z9']) {
      const id = newTicketId(code);
      expect(z.uuid({ version: 'v7' }).safeParse(id).success).toBe(true);
      expect(ticketCouponTag(id)).toBe(couponTag(code));
    }
  });

  it('stay unique and time-ordered', () => {
    const ids = Array.from({ length: 10_000 }, () => newTicketId('A0001'));
    expect(new Set(ids).size).toBe(ids.length);
    const stamps = ids.map((id) => id.slice(0, 13));
    expect([...stamps].sort()).toEqual(stamps);
  });

  it('tell the seeded coupons apart', () => {
    const tags = ['A0001', 'B0001', 'C0001'].map(couponTag);
    expect(new Set(tags).size).toBe(3);
    expect(tags.every((tag) => tag >= 0 && tag < 4096)).toBe(true);
  });
});
