import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './api-harness.ts';

describe('api smoke', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(async () => {
    await t.close();
  });

  it('admits a first request with 202 and a ticket', async () => {
    const res = await fetch(`${t.baseUrl}/v1/coupons/A0001/issue-requests`, {
      method: 'POST',
      headers: { 'x-user-id': crypto.randomUUID() },
    });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body.status).toBe('queued');
    expect(res.headers.get('location')).toBe(body.pollUrl);
  });
});
