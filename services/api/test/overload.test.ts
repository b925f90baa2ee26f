import { describe, expect, it } from 'vitest';
import { countJobs, decideTicket, expectRetryLater, newUserId, requestCoupon, useTestApi } from './helpers.ts';

describe('backpressure: the backlog bound', () => {
  const t = useTestApi({ ADMISSION_MAX_BACKLOG: '3', RETRY_AFTER_SECONDS: '7' });
  const holders = [newUserId(), newUserId(), newUserId()];
  const tickets: string[] = [];

  it('admits up to the bound', async () => {
    for (const userId of holders) {
      const res = await requestCoupon(t, 'A0001', userId);
      expect(res.status).toBe(202);
      tickets.push(res.body.ticketId);
    }
  });

  it('answers 503 OVERLOADED with Retry-After once the bound is reached, and queues nothing', async () => {
    const jobsBefore = await countJobs(t);
    const res = await requestCoupon(t, 'A0001', newUserId());
    expectRetryLater(res, 'OVERLOADED');
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await countJobs(t)).toBe(jobsBefore);
  });

  it('still shows a holder their ticket while overloaded', async () => {
    const res = await requestCoupon(t, 'A0001', holders[0]!);
    expect(res.status).toBe(200);
    expect(res.body.ticketId).toBe(tickets[0]);
  });

  it('bounds each coupon on its own', async () => {
    expect((await requestCoupon(t, 'B0001', newUserId())).status).toBe(202);
  });

  it('admits again once a ticket is decided', async () => {
    await decideTicket(t, 'A0001', tickets[0]!, { status: 'rejected', reason: 'SOLD_OUT' });
    const res = await requestCoupon(t, 'A0001', newUserId());
    expect(res.status).toBe(202);
    expect(res.body.position).toBe(2);
  });
});
