import { describe, expect, it } from 'vitest';
import { couponKeys, ticketKey } from '@coupons/shared/redis';
import { openUntouchedCoupon } from '@coupons/shared/testing';
import { expectProblem, get, insertCoupon, newUserId, requestCoupon, useTestApi } from './helpers.ts';

/**
 * What a user sees when Redis no longer has what Postgres knows: a winner's ticket after its TTL
 * or after Redis lost it, a resubmission then, and a finished event whose Redis state expired.
 * Postgres is the truth, so the answers come from it, and a winner is never given a second ticket.
 */
describe('answers from Postgres when Redis has forgotten', () => {
  const t = useTestApi();

  /** A user who won `code`: admitted through the API, then a wallet written as a worker's batch would. */
  async function winner(code: string): Promise<{ userId: string; ticketId: string }> {
    const userId = newUserId();
    const admitted = await requestCoupon(t, code, userId);
    expect(admitted.status).toBe(202);
    const ticketId: string = admitted.body.ticketId;
    const { id } = await t.env.db.selectFrom('coupon').select('id').where('code', '=', code).executeTakeFirstOrThrow();
    await t.env.db.insertInto('coupon_wallet').values({ id: ticketId, coupon_id: id, user_id: userId }).execute();
    await t.env.db.updateTable('coupon').set((eb) => ({ issued_quantity: eb('issued_quantity', '+', 1) })).where('id', '=', id).execute();
    return { userId, ticketId };
  }

  /** Redis forgets the ticket (its TTL ran out, or Redis lost it), and takes it out of line. */
  async function forgetTicket(code: string, ticketId: string): Promise<void> {
    const prefix = t.env.config.REDIS_PREFIX;
    await t.env.redis.multi().del(ticketKey(prefix, code, ticketId)).zrem(couponKeys(prefix, code).pending, ticketId).exec();
  }

  it('answers a winner’s forgotten ticket as issued, from the wallet', async () => {
    const { userId, ticketId } = await winner('B0001');
    await forgetTicket('B0001', ticketId);

    const res = await get(t, `/v1/tickets/${ticketId}`, userId);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ticketId, couponCode: 'B0001', userId, status: 'issued', walletId: ticketId });
    expect(Date.parse(res.body.issuedAt)).toBeGreaterThan(0);
    // Still only the owner sees it.
    expectProblem(await get(t, `/v1/tickets/${ticketId}`, newUserId()), 'TICKET_NOT_FOUND');
  });

  it('tells a winner resubmitting after the ticket’s TTL what they hold: 200 with that ticket, no new one', async () => {
    const { userId, ticketId } = await winner('B0001');
    await forgetTicket('B0001', ticketId);
    const pendingBefore = await t.env.redis.zcard(couponKeys(t.env.config.REDIS_PREFIX, 'B0001').pending);

    const again = await requestCoupon(t, 'B0001', userId);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ ticketId, couponCode: 'B0001', status: 'issued', pollUrl: `/v1/tickets/${ticketId}` });
    expect(await t.env.redis.zcard(couponKeys(t.env.config.REDIS_PREFIX, 'B0001').pending)).toBe(pendingBefore);
  });

  it('admits anew a user whose expired ticket won nothing', async () => {
    const userId = newUserId();
    const first = await requestCoupon(t, 'B0001', userId);
    await forgetTicket('B0001', first.body.ticketId);

    const again = await requestCoupon(t, 'B0001', userId);
    expect(again.status).toBe(202);
    expect(again.body.ticketId).not.toBe(first.body.ticketId);
  });

  it('answers a sold-out event whose Redis state expired from Postgres, without re-creating it', async () => {
    await insertCoupon(t, { code: 'PG001', startsAt: new Date(Date.now() - 60_000), totalQuantity: 1 });
    const { userId, ticketId } = await winner('PG001');
    // The catalog learns of the sell-out at its next read; then the event's state expires.
    await t.api.catalog.refresh();
    const keys = couponKeys(t.env.config.REDIS_PREFIX, 'PG001');
    await t.env.redis.del(keys.users, keys.pending, keys.seq, keys.meta, keys.fence, ticketKey(t.env.config.REDIS_PREFIX, 'PG001', ticketId));

    const held = await requestCoupon(t, 'PG001', userId);
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ ticketId, status: 'issued' });
    expectProblem(await requestCoupon(t, 'PG001', newUserId()), 'SOLD_OUT');
    expect(await t.env.redis.exists(keys.users, keys.pending, keys.seq, keys.meta, keys.fence)).toBe(0);
  });

  it('answers 503 UNAVAILABLE with Retry-After, after waiting, while no worker heals a coupon whose state is gone', async () => {
    await insertCoupon(t, { code: 'PG002', startsAt: new Date(Date.now() - 60_000), totalQuantity: 5 });
    await t.api.catalog.refresh();
    const keys = couponKeys(t.env.config.REDIS_PREFIX, 'PG002');
    await t.env.redis.del(keys.meta);

    const res = await requestCoupon(t, 'PG002', newUserId());
    expectProblem(res, 'UNAVAILABLE');
    expect(res.headers.get('retry-after')).toBe(String(t.env.config.RETRY_AFTER_SECONDS));
    // It asked a worker to heal the coupon (one job, whatever the number of refusals).
    expect(await t.queue.getJob('heal-PG002')).toMatchObject({ name: 'heal', data: { couponCode: 'PG002' } });
    expect(await t.env.redis.zcard(keys.pending)).toBe(0);

    // Once healed (here: as a worker's heal leaves it), the next request is admitted.
    await openUntouchedCoupon(t.env.redis, t.env.config.REDIS_PREFIX, 'PG002', 5);
    expect((await requestCoupon(t, 'PG002', newUserId())).status).toBe(202);
  });
});
