// The dashboard's sign-in, session cookie, CSRF protection, security headers and stream, over
// HTTP on the operations port of an in-process API (real Redis and Postgres).
import { describe, expect, it } from 'vitest';
import { adminTokenId } from '../src/admin/admin-tokens.ts';
import { DashboardSessions, SESSION_COOKIE } from '../src/dashboard/dashboard-sessions.ts';
import type { Request } from 'express';
import { expectProblem, useTestApi, type Reply } from './helpers.ts';
import type { TestApi } from './api-harness.ts';

const TOKEN = 'dashboard-test-token-0123456789abcdef';
const OTHER_TOKEN = 'another-admin-token-0123456789abcdefgh';
const t = useTestApi({ ADMIN_TOKEN: `${TOKEN},${OTHER_TOKEN}` });
const off = useTestApi();

async function ops(api: TestApi, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const res = await fetch(`${api.opsUrl}${path}`, { method, headers: init.headers, body: init.body, redirect: 'manual' });
  const text = await res.text();
  const isJson = /json/.test(res.headers.get('content-type') ?? '');
  return { status: res.status, headers: res.headers, text, body: isJson ? JSON.parse(text) : undefined };
}

const form = (token: string) => ({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Signs in through the form; returns the Cookie header to send back and the Set-Cookie line. */
async function signIn(api: TestApi = t, extraHeaders: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string; reply: Reply }> {
  const request = form(TOKEN);
  const reply = await ops(api, 'POST', '/dashboard/session', { ...request, headers: { ...request.headers, ...extraHeaders } });
  const setCookie = reply.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=`)) ?? '';
  return { cookie: setCookie.split(';')[0]!, setCookie, reply };
}

async function csrfOf(cookie: string): Promise<string> {
  const reply = await ops(t, 'GET', '/dashboard/session', { headers: { cookie } });
  expect(reply.status).toBe(200);
  return reply.body.csrfToken;
}

describe('sign-in', () => {
  it('shows the sign-in form to a browser without a session, with the dashboard’s security headers', async () => {
    const page = await ops(t, 'GET', '/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post" action="/dashboard/session"');
    expect(page.text).not.toContain('id="coupons"');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('deny');
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('exchanges the token, posted in the body, for an HttpOnly SameSite=Strict session cookie that does not carry it', async () => {
    const { reply, setCookie, cookie } = await signIn();
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/dashboard');
    const flags = setCookie.split(';').map((flag) => flag.trim().toLowerCase());
    expect(flags).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/']));
    expect(flags).not.toContain('secure'); // plain http (a port-forward): Secure would drop it
    expect(setCookie).not.toContain(TOKEN);
    expect(decodeURIComponent(setCookie)).not.toContain(TOKEN);

    const page = await ops(t, 'GET', '/dashboard', { headers: { cookie } });
    expect(page.text).toContain('id="coupons"');
    const session = await ops(t, 'GET', '/dashboard/session', { headers: { cookie } });
    expect(session.body).toEqual({ tokenId: adminTokenId(TOKEN), expiresAt: expect.any(String), csrfToken: expect.stringMatching(/^[\w-]{20,}$/) });
    expect(session.headers.get('cache-control')).toBe('no-store');
  });

  it('marks the cookie Secure when the page came over https (a TLS-terminating proxy says so)', async () => {
    const { setCookie } = await signIn(t, { 'x-forwarded-proto': 'https' });
    expect(setCookie.split(';').map((flag) => flag.trim().toLowerCase())).toContain('secure');
  });

  it('refuses a wrong token with 401 and no cookie: the form again for a browser, a problem for JSON', async () => {
    const page = await ops(t, 'POST', '/dashboard/session', form('wrong-token-wrong-token-wrong-token-000'));
    expect(page.status).toBe(401);
    expect(page.text).toContain('That is not an admin token.');
    expect(page.headers.getSetCookie()).toEqual([]);
    const problem = await ops(t, 'POST', '/dashboard/session', json({ token: 'wrong-token-wrong-token-wrong-token-000' }));
    expectProblem(problem, 'INVALID_ADMIN_TOKEN');
    expect(problem.headers.getSetCookie()).toEqual([]);
    expectProblem(await ops(t, 'POST', '/dashboard/session', json({})), 'MISSING_ADMIN_TOKEN');
  });

  it('signs in with JSON too (201 with the session, never the token)', async () => {
    const reply = await ops(t, 'POST', '/dashboard/session', json({ token: OTHER_TOKEN }));
    expect(reply.status).toBe(201);
    expect(reply.body.tokenId).toBe(adminTokenId(OTHER_TOKEN));
    expect(reply.text).not.toContain(OTHER_TOKEN);
  });

  it('never accepts the token in a query string', async () => {
    const inQuery = await ops(t, 'POST', `/dashboard/session?token=${TOKEN}`, form(''));
    expectProblem(inQuery, 'BAD_REQUEST');
    expect(inQuery.headers.getSetCookie()).toEqual([]);
    // Not even beside a right one in the body.
    expectProblem(await ops(t, 'POST', `/dashboard/session?token=${TOKEN}`, json({ token: TOKEN })), 'BAD_REQUEST');
    // Nor on the page or the admin API.
    expect((await ops(t, 'GET', `/dashboard?token=${TOKEN}`)).text).toContain('action="/dashboard/session"');
    expectProblem(await ops(t, 'GET', `/admin/v1/coupons?token=${TOKEN}`), 'MISSING_ADMIN_TOKEN');
    expectProblem(await ops(t, 'GET', `/dashboard/stream?token=${TOKEN}`), 'MISSING_ADMIN_TOKEN');
  });

  it('refuses a sign-in posted from another site', async () => {
    const request = form(TOKEN);
    const reply = await ops(t, 'POST', '/dashboard/session', { ...request, headers: { ...request.headers, origin: 'https://evil.example' } });
    expectProblem(reply, 'CSRF_REJECTED');
    expect(reply.headers.getSetCookie()).toEqual([]);
  });
});

describe('the session on the admin API', () => {
  it('reads the admin API with the cookie alone, and refuses an unsafe call without the CSRF token (403)', async () => {
    const { cookie } = await signIn();
    const list = await ops(t, 'GET', '/admin/v1/coupons', { headers: { cookie } });
    expect(list.status).toBe(200);
    expect(list.body.map((c: { code: string }) => c.code)).toEqual(['A0001', 'B0001', 'C0001']);

    expectProblem(await ops(t, 'POST', '/admin/v1/coupons/C0001/pause', { headers: { cookie } }), 'CSRF_REJECTED');
    expectProblem(await ops(t, 'POST', '/admin/v1/coupons/C0001/pause', { headers: { cookie, 'x-csrf-token': 'forged' } }), 'CSRF_REJECTED');
    const csrf = await csrfOf(cookie);
    expectProblem(await ops(t, 'POST', '/admin/v1/coupons/C0001/pause', { headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' } }), 'CSRF_REJECTED');
    // Another session's CSRF token is not this one's.
    const other = await signIn();
    expectProblem(await ops(t, 'POST', '/admin/v1/coupons/C0001/pause', { headers: { cookie: other.cookie, 'x-csrf-token': csrf } }), 'CSRF_REJECTED');
    expect((await ops(t, 'GET', '/admin/v1/coupons/C0001', { headers: { cookie } })).body.state).toBe('open');

    const paused = await ops(t, 'POST', '/admin/v1/coupons/C0001/pause', { headers: { cookie, 'x-csrf-token': csrf, origin: t.opsUrl } });
    expect({ status: paused.status, state: paused.body?.state }).toEqual({ status: 200, state: 'paused' });
    const resumed = await ops(t, 'POST', '/admin/v1/coupons/C0001/resume', { headers: { cookie, 'x-csrf-token': csrf } });
    expect({ status: resumed.status, state: resumed.body?.state }).toEqual({ status: 200, state: 'open' });
    // The audit log names the token the session was made from.
    const audit = await ops(t, 'GET', '/admin/v1/audit', { headers: { cookie } });
    expect(audit.body[0]).toMatchObject({ action: 'resume', couponCode: 'C0001', tokenId: adminTokenId(TOKEN) });
  });

  it('treats a tampered or unknown cookie as no session', async () => {
    const { cookie } = await signIn();
    const [name, value] = cookie.split('=');
    const [payload, signature] = value!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const longer = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400_000 })).toString('base64url');
    for (const forged of [`${name}=${longer}.${signature}`, `${name}=${payload}.AAAA`, `${name}=garbage`]) {
      expectProblem(await ops(t, 'GET', '/admin/v1/coupons', { headers: { cookie: forged } }), 'MISSING_ADMIN_TOKEN');
      expect((await ops(t, 'GET', '/dashboard', { headers: { cookie: forged } })).text).toContain('action="/dashboard/session"');
    }
  });

  it('ends a session when its token leaves ADMIN_TOKEN (rotation) or it expires', () => {
    let now = 1_000_000;
    const before = new DashboardSessions([TOKEN, OTHER_TOKEN], () => now);
    const after = new DashboardSessions([OTHER_TOKEN], () => now);
    const { cookie } = before.create({ tokenId: adminTokenId(TOKEN) });
    const req = { headers: { cookie: `${SESSION_COOKIE}=${cookie}` }, method: 'GET' } as unknown as Request;
    expect(before.identify(req)).toEqual({ tokenId: adminTokenId(TOKEN) });
    expect(after.identify(req)).toBeUndefined();
    now += 8 * 60 * 60 * 1000;
    expect(before.identify(req)).toBeUndefined();
  });

  it('signs out: the cookie is cleared (with the CSRF token; 403 without it)', async () => {
    const { cookie } = await signIn();
    expectProblem(await ops(t, 'DELETE', '/dashboard/session', { headers: { cookie } }), 'CSRF_REJECTED');
    const out = await ops(t, 'DELETE', '/dashboard/session', { headers: { cookie, 'x-csrf-token': await csrfOf(cookie) } });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie().find((line) => line.startsWith(`${SESSION_COOKIE}=;`));
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
  });
});

describe('the page and its stream', () => {
  it('serves its module, stylesheet and uPlot from the project’s own files, and nothing else from there', async () => {
    const module = await ops(t, 'GET', '/dashboard/assets/dashboard.js');
    expect(module.status).toBe(200);
    expect(module.headers.get('content-type')).toMatch(/javascript/);
    expect(module.text).toContain("from '/dashboard/assets/uPlot.esm.js'");
    const uplot = await ops(t, 'GET', '/dashboard/assets/uPlot.esm.js');
    expect({ status: uplot.status, type: uplot.headers.get('content-type') }).toEqual({ status: 200, type: expect.stringMatching(/javascript/) });
    expect(uplot.text).toContain('export { uPlot as default }');
    expect((await ops(t, 'GET', '/dashboard/assets/uPlot.min.css')).status).toBe(200);
    for (const path of ['/dashboard/assets/package.json', '/dashboard/assets/..%2Fdashboard-router.ts', '/dashboard/assets/dashboard.html']) {
      expectProblem(await ops(t, 'GET', path), 'ROUTE_NOT_FOUND');
    }
  });

  it('streams the figures over SSE to a session, and refuses the stream without one', async () => {
    expectProblem(await ops(t, 'GET', '/dashboard/stream'), 'MISSING_ADMIN_TOKEN');
    const { cookie } = await signIn();
    const controller = new AbortController();
    const res = await fetch(`${t.opsUrl}/dashboard/stream`, { headers: { cookie }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!/event: figures\nid: \d+\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    controller.abort();
    expect(text).toMatch(/^retry: 2000\n\nevent: history\ndata: \[/);
    const figures = JSON.parse(/event: figures\nid: \d+\ndata: (.*)\n\n/.exec(text)![1]!);
    expect(figures.replicas).toBe(1); // this in-process API publishes its own snapshot
    expect(figures.coupons.map((c: { code: string }) => c.code)).toEqual(['A0001', 'B0001', 'C0001']);
    expect(figures.coupons[0]).toMatchObject({ code: 'A0001', state: 'open', remaining: 300, issued: 0 });
  });
});

describe('without ADMIN_TOKEN', () => {
  it('serves no dashboard at all', async () => {
    for (const path of ['/dashboard', '/dashboard/assets/dashboard.js', '/dashboard/stream', '/dashboard/session']) {
      expectProblem(await ops(off, 'GET', path), 'ROUTE_NOT_FOUND');
    }
    expectProblem(await ops(off, 'POST', '/dashboard/session', form(TOKEN)), 'ROUTE_NOT_FOUND');
  });
});
