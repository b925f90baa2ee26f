import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@coupons/shared/testing';
import { expectProblem, get, insertCoupon, newUserId, requestCoupon, useTestApi } from './helpers.ts';

const HOUR = 3_600_000;

describe('coupon opening windows', () => {
  const t = useTestApi();
  const now = Date.now();
  const future = { code: 'LATER1', startsAt: new Date(now + HOUR) };
  const past = { code: 'OVER1', startsAt: new Date(now - 2 * HOUR), endsAt: new Date(now - HOUR) };

  beforeAll(async () => {
    // Inserted after the API started: its catalog learns of them on the first unknown code.
    await insertCoupon(t, future);
    await insertCoupon(t, past);
  });

  it('answers 409 EVENT_NOT_OPEN before the window starts', async () => {
    expectProblem(await requestCoupon(t, future.code, newUserId()), 'EVENT_NOT_OPEN');
  });

  it('answers 409 EVENT_NOT_OPEN after the window ended', async () => {
    expectProblem(await requestCoupon(t, past.code, newUserId()), 'EVENT_NOT_OPEN');
  });

  it('shows the window on GET /v1/coupons/{code}', async () => {
    const res = await get(t, `/v1/coupons/${past.code}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ startsAt: past.startsAt.toISOString(), endsAt: past.endsAt.toISOString() });
  });

  it('opens when the window starts, and the refusals before left no ticket behind', async () => {
    const soon = { code: 'SOON1', startsAt: new Date(Date.now() + 3_000) };
    await insertCoupon(t, soon);
    await waitFor(() => t.api.catalog.find(soon.code), { message: 'the catalog to learn of SOON1' });
    const userId = newUserId();

    expectProblem(await requestCoupon(t, soon.code, userId), 'EVENT_NOT_OPEN');
    const admitted = await waitFor(async () => {
      const res = await requestCoupon(t, soon.code, userId);
      return res.status === 409 ? undefined : res;
    }, { message: 'SOON1 to open' });
    expect(admitted.status).toBe(202);
    expect(Date.now()).toBeGreaterThanOrEqual(soon.startsAt.getTime());
  });
});
