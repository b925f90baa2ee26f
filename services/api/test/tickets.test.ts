import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { decideTicket, expectProblem, get, newUserId, requestCoupon, useTestApi, type Reply } from './helpers.ts';

describe('GET /v1/tickets/{ticketId}', () => {
  const t = useTestApi();

  async function ticketOfNewUser(code = 'A0001'): Promise<{ userId: string; ticketId: string; admitted: Reply }> {
    const userId = newUserId();
    const admitted = await requestCoupon(t, code, userId);
    expect(admitted.status).toBe(202);
    return { userId, ticketId: admitted.body.ticketId, admitted };
  }

  /** The whole body of a ticket of A0001: exactly these fields, nothing more. */
  const ticketView = (ticketId: string, userId: string, state: Record<string, unknown>) => ({
    ticketId,
    couponCode: 'A0001',
    userId,
    createdAt: expect.any(String),
    ...state,
  });

  it('shows the owner a queued ticket with its position and creation time', async () => {
    const before = Date.now();
    const { userId, ticketId, admitted } = await ticketOfNewUser();
    const res = await get(t, admitted.body.pollUrl, userId);

    expect(res.status).toBe(200);
    expect(res.body).toEqual(ticketView(ticketId, userId, { status: 'queued', position: admitted.body.position }));
    expect(res.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(res.body.createdAt)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(res.body.createdAt)).toBeLessThanOrEqual(Date.now());
  });

  it('moves the position up as tickets ahead are decided', async () => {
    const ahead = await ticketOfNewUser('C0001');
    const mine = await ticketOfNewUser('C0001');
    const positionBefore = (await get(t, `/v1/tickets/${mine.ticketId}`, mine.userId)).body.position;
    await decideTicket(t, 'C0001', ahead.ticketId, { status: 'rejected', reason: 'SOLD_OUT' });
    const positionAfter = (await get(t, `/v1/tickets/${mine.ticketId}`, mine.userId)).body.position;
    expect(positionAfter).toBe(positionBefore - 1);
  });

  it('accepts the ticket id and the user id in upper case', async () => {
    const { userId, ticketId } = await ticketOfNewUser();
    const res = await get(t, `/v1/tickets/${ticketId.toUpperCase()}`, userId.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body.ticketId).toBe(ticketId);
  });

  it('shows an issued ticket with its wallet and issue time, without position or reason', async () => {
    const { userId, ticketId } = await ticketOfNewUser();
    const walletId = uuidv7();
    const issuedAtMs = Date.parse('2030-01-02T03:04:05.678Z');
    await decideTicket(t, 'A0001', ticketId, { status: 'issued', walletId, issuedAtMs });

    const res = await get(t, `/v1/tickets/${ticketId}`, userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(ticketView(ticketId, userId, { status: 'issued', walletId, issuedAt: '2030-01-02T03:04:05.678Z' }));
  });

  it('shows a rejected ticket with its reason, without position or wallet', async () => {
    const { userId, ticketId } = await ticketOfNewUser();
    await decideTicket(t, 'A0001', ticketId, { status: 'rejected', reason: 'SOLD_OUT' });

    const res = await get(t, `/v1/tickets/${ticketId}`, userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(ticketView(ticketId, userId, { status: 'rejected', reason: 'SOLD_OUT' }));
  });

  it("answers someone else's ticket exactly like an unknown one: 404 TICKET_NOT_FOUND", async () => {
    const { ticketId } = await ticketOfNewUser();
    const stranger = newUserId();
    const theirs = await get(t, `/v1/tickets/${ticketId}`, stranger);
    const unknownId = uuidv7();
    const unknown = await get(t, `/v1/tickets/${unknownId}`, stranger);

    expectProblem(theirs, 'TICKET_NOT_FOUND');
    expectProblem(unknown, 'TICKET_NOT_FOUND');
    expect(theirs.body).toEqual({ ...unknown.body, detail: unknown.body.detail.replace(unknownId, ticketId) });
  });

  it('answers 400 INVALID_TICKET_ID for an id that is not a UUID', async () => {
    for (const id of ['42', 'not-a-uuid', `${uuidv7()}x`, 'a'.repeat(500), '%00', '%E0%A4%A']) {
      expectProblem(await get(t, `/v1/tickets/${id}`, newUserId()), 'INVALID_TICKET_ID');
    }
  });

  it('answers 401 MISSING_USER_ID without X-User-Id, even for a real ticket', async () => {
    const { ticketId } = await ticketOfNewUser();
    expectProblem(await get(t, `/v1/tickets/${ticketId}`), 'MISSING_USER_ID');
  });
});
