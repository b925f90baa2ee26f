import { describe, expect, it } from 'vitest';
import { DOCUMENTED_ROUTES } from '../src/openapi/openapi-document.ts';
import { decideTicket, get, newUserId, requestCoupon, useTestApi } from './helpers.ts';

const t = useTestApi();

describe('health', () => {
  it('GET /healthz answers 200', async () => {
    const res = await get(t, '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz answers 200 when Redis and Postgres answer', async () => {
    const res = await get(t, '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: { redis: 'ok', postgres: 'ok' } });
  });

  it('GET /readyz answers 503 stopping once shutdown starts, while /healthz stays 200', async () => {
    t.api.readiness.accepting = false;
    try {
      const ready = await get(t, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: 'stopping' });
      expect((await get(t, '/healthz')).status).toBe(200);
    } finally {
      t.api.readiness.accepting = true;
    }
  });
});

/** The value of one sample of a Prometheus text exposition (labels matched as a subset), or 0. */
function sample(exposition: string, name: string, labels: Record<string, string>): number {
  for (const line of exposition.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return 0;
}

describe('GET /metrics', () => {
  const scrape = async () => {
    // The operations port only: the public one answers 404 (see server-limits.test.ts).
    const res = await fetch(`${t.opsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('counts HTTP requests by route pattern, and unknown paths under one label', async () => {
    const unknownPath = `/no-such-page-${newUserId()}`;
    await get(t, unknownPath);
    await get(t, '/v1/coupons/A0001');
    const text = await scrape();
    expect(text).toContain('# TYPE http_requests_total counter');
    expect(sample(text, 'http_requests_total', { method: 'GET', route: '/v1/coupons/:code', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(unknownPath);
  });

  it('counts admissions by coupon and outcome', async () => {
    const admitted = { coupon: 'B0001', outcome: 'admitted' };
    const existing = { coupon: 'B0001', outcome: 'existing' };
    const before = await scrape();
    const userId = newUserId();
    await requestCoupon(t, 'B0001', userId);
    await requestCoupon(t, 'B0001', userId);
    const after = await scrape();
    expect(sample(after, 'coupon_admissions_total', admitted)).toBe(sample(before, 'coupon_admissions_total', admitted) + 1);
    expect(sample(after, 'coupon_admissions_total', existing)).toBe(sample(before, 'coupon_admissions_total', existing) + 1);
  });

  it('reports the queue depth per coupon: admitted tickets not yet decided', async () => {
    const depth = async () => sample(await scrape(), 'coupon_queue_depth', { coupon: 'A0001' });
    const start = await depth();
    const tickets = [];
    for (let i = 0; i < 3; i++) tickets.push((await requestCoupon(t, 'A0001', newUserId())).body.ticketId);
    expect(await depth()).toBe(start + 3);
    await decideTicket(t, 'A0001', tickets[0], { status: 'rejected', reason: 'SOLD_OUT' });
    expect(await depth()).toBe(start + 2);
    expect(await scrape()).toMatch(/^coupon_queue_depth\{coupon="C0001"\} 0$/m);
  });
});

interface StackLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: StackLayer[] };
}

/** Every `method path` the express app routes, nested routers included. */
function servedRoutes(stack: StackLayer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) return Object.keys(layer.route.methods).map((method) => `${method} ${layer.route!.path}`);
    return layer.handle?.stack ? servedRoutes(layer.handle.stack) : [];
  });
}

describe('OpenAPI document and docs', () => {
  // The document describes the API, not itself.
  // The document itself, and the Swagger UI page with its assets.
  const UNDOCUMENTED = ['get /openapi.json', 'get /docs'];

  it('documents exactly the routes the app serves', () => {
    const router = (t.api.app as unknown as { router: { stack: StackLayer[] } }).router;
    const served = servedRoutes(router.stack).filter((route) => !UNDOCUMENTED.includes(route) && !route.startsWith('get /docs/'));
    const documented = DOCUMENTED_ROUTES.map(({ method, path }) => `${method} ${path}`);
    expect(served.sort()).toEqual(documented.sort());
  });

  it('serves OpenAPI 3.1 with every contract path and its answers', async () => {
    const res = await get(t, '/openapi.json');
    expect(res.status).toBe(200);
    const { openapi, paths, components } = res.body;
    expect(openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(paths).sort()).toEqual(
      ['/healthz', '/readyz', '/v1/coupons', '/v1/coupons/{code}', '/v1/coupons/{code}/issue-requests', '/v1/me/coupons', '/v1/tickets/{ticketId}', '/v1/tickets/{ticketId}/events'].sort(),
    );
    const issue = paths['/v1/coupons/{code}/issue-requests'].post;
    expect(Object.keys(issue.responses).sort()).toEqual(['200', '202', '400', '401', '404', '409', '413', '415', '503']);
    expect(issue.responses['202'].headers).toHaveProperty('Location');
    expect(issue.responses['503'].headers).toHaveProperty('Retry-After');
    expect(Object.keys(paths['/v1/tickets/{ticketId}'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '404']));
    expect(Object.keys(components.schemas)).toEqual(
      expect.arrayContaining(['TicketAccepted', 'Ticket', 'Coupon', 'WalletEntry', 'Problem', 'IssueRequestBody']),
    );
  });

  it('serves Swagger UI on /docs, showing this document', async () => {
    const page = await fetch(`${t.baseUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('swagger-ui');
    const init = await fetch(new URL('swagger-ui-init.js', page.url));
    expect(await init.text()).toContain('/v1/coupons/{code}/issue-requests');
  });
});
