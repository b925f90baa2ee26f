import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { countJobs, decideTicket, expectProblem, markSoldOut, newUserId, requestCoupon, useTestApi } from './helpers.ts';

// Tests in a file run one after another, so job-count deltas belong to the test that measures them.
// Each test asks for a coupon no other test here uses when it depends on that coupon's queue.
describe('POST /v1/coupons/{code}/issue-requests', () => {
  const t = useTestApi();

  it('admits a first submission with 202, a queued ticket, a Location header and one job', async () => {
    const jobsBefore = await countJobs(t);
    const res = await requestCoupon(t, 'A0001', newUserId());

    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      ticketId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      couponCode: 'A0001',
      status: 'queued',
      position: expect.any(Number),
      pollUrl: `/v1/tickets/${res.body.ticketId}`,
    });
    expect(res.headers.get('location')).toBe(res.body.pollUrl);
    expect(await countJobs(t)).toBe(jobsBefore + 1);
    // Its job (one per batch of tickets admitted together: here a batch of one).
    const job = await t.queue.getJob(`b-${res.body.ticketId}`);
    expect(job?.data).toEqual({ couponCode: 'A0001', ticketIds: [res.body.ticketId], maxSeq: expect.any(Number) });
  });

  it('answers a resubmission with 200 and the same ticket, without a second job', async () => {
    const userId = newUserId();
    const first = await requestCoupon(t, 'A0001', userId);
    const jobsAfterFirst = await countJobs(t);

    const again = await requestCoupon(t, 'A0001', userId);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('location')).toBe(first.body.pollUrl);
    expect(await countJobs(t)).toBe(jobsAfterFirst);
  });

  it('treats the user id case-insensitively (one user, one ticket)', async () => {
    const userId = newUserId();
    const first = await requestCoupon(t, 'A0001', userId);
    const again = await requestCoupon(t, 'A0001', userId.toUpperCase());
    expect(again.status).toBe(200);
    expect(again.body.ticketId).toBe(first.body.ticketId);
  });

  it('gives one user one ticket per coupon, but separate tickets for separate coupons', async () => {
    const userId = newUserId();
    const a = await requestCoupon(t, 'A0001', userId);
    const b = await requestCoupon(t, 'B0001', userId);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.ticketId).not.toBe(a.body.ticketId);
    expect(b.body.couponCode).toBe('B0001');
  });

  it('tells successive users how many requests are ahead of them (0, 1, 2, ...)', async () => {
    const positions: number[] = [];
    for (let i = 0; i < 4; i++) positions.push((await requestCoupon(t, 'C0001', newUserId())).body.position);
    expect(positions).toEqual([0, 1, 2, 3]);
  });

  it('accepts an empty JSON object as the body', async () => {
    const res = await requestCoupon(t, 'A0001', newUserId(), {});
    expect(res.status).toBe(202);
  });

  it('admits 20 parallel submissions of one user exactly once', async () => {
    const userId = newUserId();
    const jobsBefore = await countJobs(t);
    const replies = await Promise.all(Array.from({ length: 20 }, () => requestCoupon(t, 'A0001', userId)));

    const statuses = replies.map((res) => res.status).sort();
    expect(statuses).toEqual([...Array(19).fill(200), 202]);
    expect(new Set(replies.map((res) => res.body.ticketId)).size).toBe(1);
    expect(await countJobs(t)).toBe(jobsBefore + 1);
  });

  it('answers a resubmission with the ticket as decided: issued, then no position', async () => {
    const userId = newUserId();
    const first = await requestCoupon(t, 'A0001', userId);
    await decideTicket(t, 'A0001', first.body.ticketId, { status: 'issued', walletId: uuidv7(), issuedAtMs: Date.now() });

    const again = await requestCoupon(t, 'A0001', userId);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ticketId: first.body.ticketId, couponCode: 'A0001', status: 'issued', pollUrl: first.body.pollUrl });
  });

  it('answers 404 COUPON_NOT_FOUND for a well-formed code nobody created', async () => {
    const res = await requestCoupon(t, 'ZZZZ9', newUserId());
    expectProblem(res, 'COUPON_NOT_FOUND');
  });

  // Last on B0001: once sold out it stays sold out for this file.
  it('answers 409 SOLD_OUT once the coupon is known to be exhausted, but still shows holders their ticket', async () => {
    const holder = newUserId();
    const held = await requestCoupon(t, 'B0001', holder);
    await markSoldOut(t, 'B0001');
    const jobsBefore = await countJobs(t);

    const late = await requestCoupon(t, 'B0001', newUserId());
    expectProblem(late, 'SOLD_OUT');
    expect(await countJobs(t)).toBe(jobsBefore);

    const holderAgain = await requestCoupon(t, 'B0001', holder);
    expect(holderAgain.status).toBe(200);
    expect(holderAgain.body.ticketId).toBe(held.body.ticketId);
  });
});
