import { describe, expect, it } from 'vitest';
import { expectProblem, get, useTestApi } from './helpers.ts';

const SEEDED = [
  { code: 'A0001', name: 'Coupon A', discountAmount: 10_000, totalQuantity: 300 },
  { code: 'B0001', name: 'Coupon B', discountAmount: 5_000, totalQuantity: 2_000 },
  { code: 'C0001', name: 'Coupon C', discountAmount: 1_000, totalQuantity: 10_000 },
];

const asView = (coupon: (typeof SEEDED)[number]) => ({
  ...coupon,
  issuedQuantity: 0,
  remainingQuantity: coupon.totalQuantity,
  startsAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  endsAt: null,
});

describe('GET /v1/coupons and /v1/coupons/{code}', () => {
  const startedAt = Date.now();
  const t = useTestApi();

  it('lists the three seeded coupons, open since seeding, with nothing issued', async () => {
    const res = await get(t, '/v1/coupons');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(SEEDED.map(asView));
    for (const coupon of res.body) {
      expect(Date.parse(coupon.startsAt)).toBeGreaterThanOrEqual(startedAt - 5_000);
      expect(Date.parse(coupon.startsAt)).toBeLessThanOrEqual(Date.now());
    }
  });

  it('shows one coupon by code', async () => {
    const res = await get(t, '/v1/coupons/B0001');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(asView(SEEDED[1]!));
  });

  it('reports issued and remaining quantities as Postgres has them', async () => {
    await t.env.db.updateTable('coupon').set({ issued_quantity: 120 }).where('code', '=', 'C0001').execute();
    const res = await get(t, '/v1/coupons/C0001');
    expect(res.body).toMatchObject({ totalQuantity: 10_000, issuedQuantity: 120, remainingQuantity: 9_880 });
  });

  it('answers 404 COUPON_NOT_FOUND for a well-formed unknown code', async () => {
    expectProblem(await get(t, '/v1/coupons/ZZZZ9'), 'COUPON_NOT_FOUND');
  });

  it('answers 400 INVALID_COUPON_CODE for a code that cannot be one', async () => {
    for (const code of ['a0001', 'A'.repeat(33), 'A-1', '%00', '%20A0001', '%E0%A4%A']) {
      expectProblem(await get(t, `/v1/coupons/${code}`), 'INVALID_COUPON_CODE');
    }
  });
});
