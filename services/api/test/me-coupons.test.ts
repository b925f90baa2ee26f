import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { expectProblem, get, newUserId, useTestApi } from './helpers.ts';

describe('GET /v1/me/coupons', () => {
  const t = useTestApi();

  /** Records a wallet the way the worker does (its id is the winning ticket's id). */
  async function giveCoupon(userId: string, code: string, issuedAt: Date): Promise<string> {
    const walletId = uuidv7();
    const { id: couponId } = await t.env.db.selectFrom('coupon').select('id').where('code', '=', code).executeTakeFirstOrThrow();
    await t.env.db.insertInto('coupon_wallet').values({ id: walletId, coupon_id: couponId, user_id: userId, issued_at: issuedAt }).execute();
    return walletId;
  }

  it('is an empty list for a user with no coupon', async () => {
    const res = await get(t, '/v1/me/coupons', newUserId());
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  it("lists the caller's coupons, oldest first, and nobody else's", async () => {
    const userId = newUserId();
    const b = await giveCoupon(userId, 'B0001', new Date('2030-01-01T00:00:02.000Z'));
    const a = await giveCoupon(userId, 'A0001', new Date('2030-01-01T00:00:01.000Z'));
    await giveCoupon(newUserId(), 'C0001', new Date('2030-01-01T00:00:00.000Z'));

    const res = await get(t, '/v1/me/coupons', userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { walletId: a, couponCode: 'A0001', discountAmount: 10_000, issuedAt: '2030-01-01T00:00:01.000Z' },
      { walletId: b, couponCode: 'B0001', discountAmount: 5_000, issuedAt: '2030-01-01T00:00:02.000Z' },
    ]);
  });

  it('finds the wallet whatever the case of X-User-Id', async () => {
    const userId = newUserId();
    const walletId = await giveCoupon(userId, 'A0001', new Date());
    const res = await get(t, '/v1/me/coupons', userId.toUpperCase());
    expect(res.body.map((entry: { walletId: string }) => entry.walletId)).toEqual([walletId]);
  });

  it('answers 401 MISSING_USER_ID without X-User-Id and 400 INVALID_USER_ID for a non-UUID', async () => {
    expectProblem(await get(t, '/v1/me/coupons'), 'MISSING_USER_ID');
    expectProblem(await get(t, '/v1/me/coupons', 'me'), 'INVALID_USER_ID');
  });
});
