import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { countJobs, expectProblem, newUserId, requestCoupon, send, useTestApi } from './helpers.ts';

// Invariant 6: bad input gets a clear 4xx problem, never a 5xx, never a partial write.
describe('bad input', () => {
  const t = useTestApi();

  describe.each([
    { method: 'POST', path: '/v1/coupons/A0001/issue-requests' },
    { method: 'GET', path: `/v1/tickets/${uuidv7()}` },
    { method: 'GET', path: '/v1/me/coupons' },
  ])('X-User-Id on $method $path', ({ method, path }) => {
    it.each([undefined, '', '   '])('answers 401 MISSING_USER_ID for %j', async (userId) => {
      expectProblem(await send(t, method, path, { userId }), 'MISSING_USER_ID');
    });

    const uuid = newUserId();
    it.each(['me', '42', `${uuid}0`, `{${uuid}}`, `${uuid},${newUserId()}`, "' OR 1=1 --", 'x'.repeat(4_000)])(
      'answers 400 INVALID_USER_ID for %s',
      async (userId) => {
        expectProblem(await send(t, method, path, { userId }), 'INVALID_USER_ID');
      },
    );
  });

  describe('issue-request body', () => {
    it.each(['{', '{"a":', '{}}', 'null', '"x"', '1'])('answers 400 MALFORMED_JSON for %s', async (body) => {
      expectProblem(await requestCoupon(t, 'A0001', newUserId(), body), 'MALFORMED_JSON');
    });

    it.each([{ extra: 1 }, { userId: newUserId() }, [], [{}]])('answers 400 INVALID_BODY for %j', async (body) => {
      expectProblem(await requestCoupon(t, 'A0001', newUserId(), body), 'INVALID_BODY');
    });

    it('answers 413 PAYLOAD_TOO_LARGE for a body over the limit', async () => {
      const body = { pad: 'x'.repeat(t.env.config.BODY_LIMIT_BYTES) };
      expectProblem(await requestCoupon(t, 'A0001', newUserId(), body), 'PAYLOAD_TOO_LARGE');
    });

    it.each<Record<string, string>>([
      { 'content-type': 'application/json; charset=latin1' },
      { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
    ])('answers 415 UNSUPPORTED_ENCODING for %j', async (headers) => {
      const res = await send(t, 'POST', '/v1/coupons/A0001/issue-requests', { userId: newUserId(), body: '{}', headers });
      expectProblem(res, 'UNSUPPORTED_ENCODING');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded'])('answers 415 UNSUPPORTED_MEDIA_TYPE for a %s body', async (type) => {
      const res = await send(t, 'POST', '/v1/coupons/A0001/issue-requests', {
        userId: newUserId(),
        body: 'a=1',
        headers: { 'content-type': type },
      });
      expectProblem(res, 'UNSUPPORTED_MEDIA_TYPE');
    });

    it('leaves no ticket and no job behind a refused request', async () => {
      const userId = newUserId();
      const jobsBefore = await countJobs(t);
      expectProblem(await requestCoupon(t, 'A0001', userId, { extra: true }), 'INVALID_BODY');
      expect(await countJobs(t)).toBe(jobsBefore);
      expect((await requestCoupon(t, 'A0001', userId)).status).toBe(202);
    });
  });

  it.each(['a0001', 'A'.repeat(500), '%00', 'A0001%00', '%E0%A4%A', '%ED%95%9C', 'A%2F1', '%25', 'A0001%20'])(
    'answers 400 INVALID_COUPON_CODE for the coupon code %s',
    async (code) => {
      expectProblem(await requestCoupon(t, code, newUserId()), 'INVALID_COUPON_CODE');
    },
  );

  it.each([
    ['GET', '/nope'],
    ['GET', '/v1'],
    ['DELETE', '/v1/coupons/A0001'],
    ['GET', '/v1/coupons/A0001/issue-requests'],
    ['PUT', `/v1/tickets/${uuidv7()}`],
  ])('answers %s %s with 404 ROUTE_NOT_FOUND', async (method, path) => {
    expectProblem(await send(t, method, path, { userId: newUserId() }), 'ROUTE_NOT_FOUND');
  });
});
