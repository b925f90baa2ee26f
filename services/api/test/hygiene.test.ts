// What every answer carries and what the API refuses to be: no caching of per-user answers, no
// type sniffing, one spelling per route, a docs page and nothing else of swagger-ui-dist, and
// errors that never echo what the client sent.
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { expectProblem, get, newUserId, requestCoupon, send, useTestApi } from './helpers.ts';

/** A raw request (fetch refuses TRACE). */
function rawStatus(baseUrl: string, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('response hygiene', () => {
  const t = useTestApi();

  it('marks per-user answers no-store, keyed on the identity headers, and every answer nosniff', async () => {
    const userId = newUserId();
    const admitted = await requestCoupon(t, 'A0001', userId);
    const ticket = await get(t, `/v1/tickets/${admitted.body.ticketId}`, userId);
    const wallet = await get(t, '/v1/me/coupons', userId);
    for (const res of [admitted, ticket, wallet]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('vary')).toMatch(/Authorization/);
      expect(res.headers.get('vary')).toMatch(/X-User-Id/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const catalog = await get(t, '/v1/coupons');
    expect(catalog.headers.get('x-content-type-options')).toBe('nosniff');
    expect(catalog.headers.get('cache-control')).toBeNull(); // the same for everyone
    expect((await get(t, '/nope')).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('routes are strict about case and trailing slashes', async () => {
    expect((await get(t, '/v1/coupons')).status).toBe(200);
    for (const path of ['/V1/COUPONS', '/v1/Coupons', '/v1/coupons/', '/v1/coupons/A0001/', '/HEALTHZ', '/healthz/']) {
      expectProblem(await get(t, path), 'ROUTE_NOT_FOUND');
    }
  });

  it('never echoes the request path or parameters in an error', async () => {
    const notFound = await get(t, '/some/secret-path-XYZ');
    expectProblem(notFound, 'ROUTE_NOT_FOUND');
    expect(notFound.text).not.toContain('secret-path-XYZ');
    const noCoupon = await get(t, '/v1/coupons/Z9ECHO');
    expectProblem(noCoupon, 'COUPON_NOT_FOUND');
    expect(noCoupon.text).not.toContain('Z9ECHO');
    const userId = newUserId();
    const missing = '01a21b70-a615-77cf-af62-d906a26327e9';
    const noTicket = await get(t, `/v1/tickets/${missing}`, userId);
    expectProblem(noTicket, 'TICKET_NOT_FOUND');
    expect(noTicket.text).not.toContain(missing);
  });

  it('serves the docs UI for GET and HEAD only, and none of swagger-ui-dist beyond it', async () => {
    const redirect = await fetch(`${t.baseUrl}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/docs/');
    expect((await fetch(`${t.baseUrl}/docs/`, { method: 'HEAD' })).status).toBe(200);
    for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui-init.js', 'favicon-32x32.png']) {
      expect((await fetch(`${t.baseUrl}/docs/${asset}`)).status, asset).toBe(200);
    }
    for (const path of ['/docs/README.md', '/docs/index.html', '/docs/package.json', '/docs/swagger-ui.js.map', '/docs/swagger-initializer.js']) {
      expectProblem(await get(t, path), 'ROUTE_NOT_FOUND');
    }
    for (const method of ['PUT', 'DELETE', 'POST', 'PATCH']) {
      expectProblem(await send(t, method, '/docs/'), 'ROUTE_NOT_FOUND');
    }
    expect(await rawStatus(t.baseUrl, 'TRACE', '/docs/')).toBe(404);
  });
});
