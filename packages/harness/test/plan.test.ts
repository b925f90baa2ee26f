import { describe, expect, it } from 'vitest';
import { planRequests } from '../src/load/plan.ts';

describe('planRequests', () => {
  it('sends every distinct user once, and resubmissions only after their first request', () => {
    const plan = planRequests([{ code: 'A0001', users: 300 }, { code: 'B0001', users: 200 }], 625);
    expect(plan).toHaveLength(625);
    const firsts = plan.filter((r) => !r.resubmission);
    expect(new Set(firsts.map((r) => r.userId)).size).toBe(500);
    expect(firsts.filter((r) => r.couponCode === 'A0001')).toHaveLength(300);
    const seen = new Map<string, string>();
    for (const request of plan) {
      if (request.resubmission) expect(seen.get(request.userId)).toBe(request.couponCode);
      else seen.set(request.userId, request.couponCode);
    }
    // Interleaved, not coupon after coupon.
    expect(plan.slice(0, 100).some((r) => r.couponCode === 'B0001')).toBe(true);
  });
});
