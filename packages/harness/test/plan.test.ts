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

  it('without resubmissions: each user exactly once, interleaved (the million-user plan)', () => {
    const plan = planRequests([{ code: 'M0001', users: 3000 }, { code: 'M0002', users: 2000 }], 5000);
    expect(plan).toHaveLength(5000);
    expect(plan.every((r) => !r.resubmission)).toBe(true);
    expect(new Set(plan.map((r) => r.userId)).size).toBe(5000);
    expect(plan.filter((r) => r.couponCode === 'M0002')).toHaveLength(2000);
    expect(plan.slice(0, 100).some((r) => r.couponCode === 'M0002')).toBe(true);
  });
});
