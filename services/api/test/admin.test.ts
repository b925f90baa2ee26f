// The admin API (issue 13, DESIGN.md "Operating an event") in process, against real Redis and
// Postgres: authentication, validation, every route's answers, the audit rows, and pause/close
// taking effect on the very next admission.
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { couponKeys } from '@coupons/shared/redis';
import { waitFor } from '@coupons/shared/testing';
import { adminTokenId } from '../src/admin/admin-tokens.ts';
import { ADMIN_DOCUMENTED_ROUTES } from '../src/openapi/admin-document.ts';
import type { TestApi } from './api-harness.ts';
import { expectProblem, expectRetryLater, get, newUserId, requestCoupon, useTestApi, type Reply } from './helpers.ts';
import { useTcpProxy, waitUntilReady } from './outage.ts';

const TOKEN = 'a'.repeat(40) + '-first-admin-token';
const ROTATED = 'b'.repeat(40) + '-second-admin-token';
const MINUTE = 60_000;

/** A call to the operations port, with a bearer token unless `token` is null. */
async function admin(t: TestApi, method: string, path: string, options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${t.opsUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined };
}

const create = (t: TestApi, coupon: Record<string, unknown>, token?: string) => admin(t, 'POST', '/admin/v1/coupons', { body: coupon, token });
const inAMinute = () => new Date(Date.now() + MINUTE).toISOString();

describe('admin API', () => {
  const t = useTestApi({ ADMIN_TOKEN: `${TOKEN},${ROTATED}` });

  describe('authentication', () => {
    it('401 MISSING_ADMIN_TOKEN without an Authorization header, with WWW-Authenticate: Bearer', async () => {
      const res = await admin(t, 'GET', '/admin/v1/coupons', { token: null });
      expectProblem(res, 'MISSING_ADMIN_TOKEN');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('401 INVALID_ADMIN_TOKEN for a wrong token, a prefix of a right one, or another scheme', async () => {
      for (const authorization of [`Bearer ${'c'.repeat(64)}`, `Bearer ${TOKEN.slice(0, 32)}`, `Bearer ${TOKEN}x`, `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'Bearer']) {
        const res = await admin(t, 'GET', '/admin/v1/coupons', { token: null, headers: { authorization } });
        expectProblem(res, 'INVALID_ADMIN_TOKEN');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    });

    it('accepts every configured token (rotation), and the audit names each by its own non-secret id', async () => {
      expect((await create(t, { code: 'ROT1', name: 'Rotation one', discountAmount: 100, totalQuantity: 5 }, TOKEN)).status).toBe(201);
      expect((await create(t, { code: 'ROT2', name: 'Rotation two', discountAmount: 100, totalQuantity: 5 }, ROTATED)).status).toBe(201);
      const audit = (await admin(t, 'GET', '/admin/v1/audit?limit=2')).body as { couponCode: string; tokenId: string }[];
      expect(audit.map(({ couponCode, tokenId }) => ({ couponCode, tokenId }))).toEqual([
        { couponCode: 'ROT2', tokenId: adminTokenId(ROTATED) },
        { couponCode: 'ROT1', tokenId: adminTokenId(TOKEN) },
      ]);
      expect(adminTokenId(TOKEN)).toMatch(/^sha256:[0-9a-f]{12}$/);
      expect(JSON.stringify(audit)).not.toContain(TOKEN.slice(0, 20));
    });

    it('is never served on the public port: 404 there, with or without a token', async () => {
      for (const path of ['/admin/v1/coupons', '/admin/v1/audit', '/admin/v1/openapi.json']) {
        const res = await fetch(`${t.baseUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-user-id': newUserId() } });
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
    });

    it('documents exactly the admin routes the operations port serves', () => {
      type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
      const served = (stack: Layer[]): string[] =>
        stack.flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((method) => `${method} ${layer.route!.path}`) : layer.handle?.stack ? served(layer.handle.stack) : []));
      const admin = served((t.api.ops as unknown as { router: { stack: Layer[] } }).router.stack).filter((route) => route.includes(' /admin/') && route !== 'get /admin/v1/openapi.json');
      expect(admin.sort()).toEqual(ADMIN_DOCUMENTED_ROUTES.map(({ method, path }) => `${method} ${path}`).sort());
    });

    it('serves its OpenAPI document on the operations port, generated from the zod schemas', async () => {
      const res = await admin(t, 'GET', '/admin/v1/openapi.json', { token: null });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body.paths).sort()).toEqual([
        '/admin/v1/audit',
        '/admin/v1/coupons',
        '/admin/v1/coupons/{code}',
        '/admin/v1/coupons/{code}/close',
        '/admin/v1/coupons/{code}/pause',
        '/admin/v1/coupons/{code}/resume',
      ]);
      expect(res.body.components.schemas.CreateCouponBody.required).toEqual(expect.arrayContaining(['code', 'name', 'discountAmount', 'totalQuantity']));
      expect(Object.keys(res.body.paths['/admin/v1/coupons'].post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409']));
    });
  });

  describe('POST /admin/v1/coupons', () => {
    it('201: the coupon, scheduled, with a Location; served by the API at once (the catalog heard the announcement)', async () => {
      const startsAt = inAMinute();
      const res = await create(t, { code: 'D0001', name: 'Coupon D', discountAmount: 3000, totalQuantity: 500, startsAt });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe('/admin/v1/coupons/D0001');
      expect(res.body).toEqual({
        code: 'D0001',
        name: 'Coupon D',
        discountAmount: 3000,
        totalQuantity: 500,
        issuedQuantity: 0,
        remainingQuantity: 500,
        startsAt,
        endsAt: null,
        state: 'scheduled',
        pending: 0,
        admitted: 0,
        pausedAt: null,
        closedAt: null,
        createdAt: expect.any(String),
      });
      // codes() never reads Postgres by itself: only the announcement (or the 5 s reload, which this bound stays under) teaches it.
      await waitFor(() => t.api.catalog.codes().includes('D0001'), { timeoutMs: 4_000, message: 'the catalog to learn D0001 from the announcement' });
      expectProblem(await requestCoupon(t, 'D0001', newUserId()), 'EVENT_NOT_OPEN');
      expect((await get(t, '/v1/coupons/D0001')).body).toMatchObject({ code: 'D0001', totalQuantity: 500 });
    });

    it('a coupon open now admits at once: its Redis mirror was written at creation (no heal needed)', async () => {
      expect((await create(t, { code: 'NOW1', name: 'Open now', discountAmount: 1, totalQuantity: 2 })).body.state).toBe('open');
      expect(await t.env.redis.hmget(couponKeys(t.env.config.REDIS_PREFIX, 'NOW1').meta, 'total', 'soldOut', 'run')).toEqual(['2', '0', 'active']);
      expect((await requestCoupon(t, 'NOW1', newUserId())).status).toBe(202);
      const listed = (await admin(t, 'GET', '/admin/v1/coupons/NOW1')).body;
      expect(listed).toMatchObject({ state: 'open', pending: 1, admitted: 1 });
    });

    it('409 COUPON_EXISTS for a taken code (a seeded one too), nothing written', async () => {
      const before = (await admin(t, 'GET', '/admin/v1/audit?limit=1000')).body.length;
      expectProblem(await create(t, { code: 'A0001', name: 'Again', discountAmount: 1, totalQuantity: 1 }), 'COUPON_EXISTS');
      expect((await admin(t, 'GET', '/admin/v1/audit?limit=1000')).body.length).toBe(before);
      expect((await get(t, '/v1/coupons/A0001')).body.name).toBe('Coupon A');
    });

    it.each([
      ['a lower-case code', { code: 'd0002', name: 'x', discountAmount: 1, totalQuantity: 1 }],
      ['a code starting with a digit', { code: '1D002', name: 'x', discountAmount: 1, totalQuantity: 1 }],
      ['a code too long', { code: 'D'.repeat(17), name: 'x', discountAmount: 1, totalQuantity: 1 }],
      ['no name', { code: 'D0002', discountAmount: 1, totalQuantity: 1 }],
      ['a quantity of 0', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 0 }],
      ['a fractional quantity', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 1.5 }],
      ['a negative discount', { code: 'D0002', name: 'x', discountAmount: -1, totalQuantity: 1 }],
      ['a time without offset', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 1, startsAt: '2026-12-08 09:00' }],
      ['an end before the start', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 1, startsAt: inAMinute(), endsAt: new Date().toISOString() }],
      ['an end already past (the start defaults to now)', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 1, endsAt: new Date(Date.now() - MINUTE).toISOString() }],
      ['an unknown field', { code: 'D0002', name: 'x', discountAmount: 1, totalQuantity: 1, limit: 5 }],
      ['an array', [1, 2]],
    ])('400 INVALID_BODY for %s, nothing created', async (_what, body) => {
      expectProblem(await create(t, body as Record<string, unknown>), 'INVALID_BODY');
      expectProblem(await admin(t, 'GET', '/admin/v1/coupons/D0002'), 'COUPON_NOT_FOUND');
    });

    it('400 INVALID_BODY without a body, 400 MALFORMED_JSON for broken JSON, 415 for another media type', async () => {
      expectProblem(await admin(t, 'POST', '/admin/v1/coupons'), 'INVALID_BODY');
      expectProblem(await create(t, '{"code":' as never), 'MALFORMED_JSON');
      expectProblem(await admin(t, 'POST', '/admin/v1/coupons', { body: 'code=D0002', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 'UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('GET /admin/v1/coupons and /{code}', () => {
    it('lists every coupon with its state and live figures (the seeded ones open)', async () => {
      const res = await admin(t, 'GET', '/admin/v1/coupons');
      expect(res.status).toBe(200);
      const byCode = new Map((res.body as { code: string }[]).map((coupon) => [coupon.code, coupon]));
      expect(byCode.get('A0001')).toMatchObject({ state: 'open', totalQuantity: 300, pending: expect.any(Number), admitted: expect.any(Number) });
      expect(byCode.get('D0001')).toMatchObject({ state: 'scheduled' });
    });

    it('404 COUPON_NOT_FOUND for an unknown code, 400 INVALID_COUPON_CODE for a malformed one', async () => {
      expectProblem(await admin(t, 'GET', '/admin/v1/coupons/NOPE9'), 'COUPON_NOT_FOUND');
      expectProblem(await admin(t, 'GET', '/admin/v1/coupons/no-pe'), 'INVALID_COUPON_CODE');
    });
  });

  describe('PATCH /admin/v1/coupons/{code}', () => {
    it('before opening: quantity, start and end may change; the audit row has before and after', async () => {
      await create(t, { code: 'P0001', name: 'Patch me', discountAmount: 10, totalQuantity: 100, startsAt: inAMinute() });
      const startsAt = new Date(Date.now() + 2 * MINUTE).toISOString();
      const res = await admin(t, 'PATCH', '/admin/v1/coupons/P0001', { body: { totalQuantity: 150, startsAt, name: 'Patched' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalQuantity: 150, startsAt, name: 'Patched', state: 'scheduled' });
      const [entry] = (await admin(t, 'GET', '/admin/v1/audit?coupon=P0001&limit=1')).body;
      expect(entry).toMatchObject({
        action: 'update',
        couponCode: 'P0001',
        tokenId: adminTokenId(TOKEN),
        before: { totalQuantity: 100, name: 'Patch me' },
        after: { totalQuantity: 150, name: 'Patched', startsAt },
      });
    });

    it('after opening: 409 EVENT_STARTED for quantity, start or a later end; an earlier end, the name and the discount still change', async () => {
      await create(t, { code: 'P0002', name: 'Open', discountAmount: 10, totalQuantity: 100, endsAt: new Date(Date.now() + 60 * MINUTE).toISOString() });
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { totalQuantity: 200 } }), 'EVENT_STARTED');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { startsAt: inAMinute() } }), 'EVENT_STARTED');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { endsAt: new Date(Date.now() + 120 * MINUTE).toISOString() } }), 'EVENT_STARTED');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { endsAt: null } }), 'EVENT_STARTED');
      expect((await admin(t, 'GET', '/admin/v1/coupons/P0002')).body.totalQuantity).toBe(100);
      const earlier = new Date(Date.now() + 30 * MINUTE).toISOString();
      const res = await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { endsAt: earlier, name: 'Open, shorter', discountAmount: 20 } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ endsAt: earlier, name: 'Open, shorter', discountAmount: 20, state: 'open' });
      // The same value as now is no change: allowed.
      expect((await admin(t, 'PATCH', '/admin/v1/coupons/P0002', { body: { totalQuantity: 100 } })).status).toBe(200);
    });

    it('an end moved to the past ends admissions once the replicas heard of it (EVENT_NOT_OPEN)', async () => {
      await create(t, { code: 'P0003', name: 'Ends', discountAmount: 1, totalQuantity: 10 });
      expect((await requestCoupon(t, 'P0003', newUserId())).status).toBe(202);
      const endsAt = new Date(Date.now() - 1_000).toISOString();
      // Ending before it started is refused by the window check; end it one second ago after a start further back.
      const started = await admin(t, 'GET', '/admin/v1/coupons/P0003');
      const res = await admin(t, 'PATCH', '/admin/v1/coupons/P0003', { body: { endsAt: new Date(Math.max(Date.parse(started.body.startsAt) + 1, Date.parse(endsAt))).toISOString() } });
      expect(res.status).toBe(200);
      await waitFor(async () => (await requestCoupon(t, 'P0003', newUserId())).status === 409, { timeoutMs: 4_000, message: 'P0003 to refuse after its end' });
      expectProblem(await requestCoupon(t, 'P0003', newUserId()), 'EVENT_NOT_OPEN');
      expect((await admin(t, 'GET', '/admin/v1/coupons/P0003')).body.state).toBe('closed');
    });

    it('400 INVALID_BODY for an empty change, an unknown field or an end before the start; 404 for an unknown coupon', async () => {
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0001', { body: {} }), 'INVALID_BODY');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0001', { body: { issuedQuantity: 5 } }), 'INVALID_BODY');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/P0001', { body: { endsAt: new Date(Date.now() - MINUTE).toISOString() } }), 'INVALID_BODY');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/NOPE9', { body: { name: 'x' } }), 'COUPON_NOT_FOUND');
    });
  });

  describe('pause, resume, close', () => {
    it('pause: the next request gets 409 EVENT_PAUSED with Retry-After; a ticket holder still sees their ticket; resume admits again', async () => {
      await create(t, { code: 'R0001', name: 'Run', discountAmount: 1, totalQuantity: 10 });
      const holder = newUserId();
      const held = await requestCoupon(t, 'R0001', holder);
      expect(held.status).toBe(202);

      const paused = await admin(t, 'POST', '/admin/v1/coupons/R0001/pause');
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ code: 'R0001', state: 'paused', pausedAt: expect.any(String), pending: 1, admitted: 1 });
      const refused = await requestCoupon(t, 'R0001', newUserId());
      expectProblem(refused, 'EVENT_PAUSED');
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      const again = await requestCoupon(t, 'R0001', holder);
      expect({ status: again.status, ticketId: again.body.ticketId }).toEqual({ status: 200, ticketId: held.body.ticketId });
      // Idempotent: a second pause answers the same, with no second audit row.
      expect((await admin(t, 'POST', '/admin/v1/coupons/R0001/pause')).body.state).toBe('paused');

      const resumed = await admin(t, 'POST', '/admin/v1/coupons/R0001/resume');
      expect(resumed.body).toMatchObject({ state: 'open', pausedAt: null });
      expect((await requestCoupon(t, 'R0001', newUserId())).status).toBe(202);

      const actions = (await admin(t, 'GET', '/admin/v1/audit?coupon=R0001')).body.map((entry: { action: string }) => entry.action);
      expect(actions).toEqual(['resume', 'pause', 'create']);
    });

    it('close: EVENT_NOT_OPEN from then on; final (resume and pause are 409 EVENT_CLOSED, PATCH too); close again is 200', async () => {
      await create(t, { code: 'R0002', name: 'Close', discountAmount: 1, totalQuantity: 10 });
      expect((await requestCoupon(t, 'R0002', newUserId())).status).toBe(202);
      const closed = await admin(t, 'POST', '/admin/v1/coupons/R0002/close');
      expect(closed.body).toMatchObject({ state: 'closed', closedAt: expect.any(String), pending: 1 });
      expectProblem(await requestCoupon(t, 'R0002', newUserId()), 'EVENT_NOT_OPEN');
      expectProblem(await admin(t, 'POST', '/admin/v1/coupons/R0002/resume'), 'EVENT_CLOSED');
      expectProblem(await admin(t, 'POST', '/admin/v1/coupons/R0002/pause'), 'EVENT_CLOSED');
      expectProblem(await admin(t, 'PATCH', '/admin/v1/coupons/R0002', { body: { name: 'Reopen?' } }), 'EVENT_CLOSED');
      expect((await admin(t, 'POST', '/admin/v1/coupons/R0002/close')).status).toBe(200);
      const [latest] = (await admin(t, 'GET', '/admin/v1/audit?coupon=R0002')).body;
      expect(latest).toMatchObject({ action: 'close', before: { closedAt: null }, after: { closedAt: expect.any(String) } });
    });

    it('a closed coupon whose Redis state was lost answers from Postgres (nothing rebuilt for it): EVENT_NOT_OPEN, or a winner\'s wallet', async () => {
      await create(t, { code: 'R0003', name: 'Lost', discountAmount: 1, totalQuantity: 10 });
      const winner = newUserId();
      const { id } = await t.env.db.selectFrom('coupon').select('id').where('code', '=', 'R0003').executeTakeFirstOrThrow();
      const walletId = uuidv7();
      await t.env.db.insertInto('coupon_wallet').values({ id: walletId, coupon_id: id, user_id: winner }).execute();
      await admin(t, 'POST', '/admin/v1/coupons/R0003/close');
      await waitFor(() => t.api.catalog.find('R0003').then((coupon) => coupon?.closed), { timeoutMs: 4_000, message: 'the catalog to hear of the close' });
      await t.env.redis.del(...Object.values(couponKeys(t.env.config.REDIS_PREFIX, 'R0003')).filter((key) => !key.endsWith(':')));
      expectProblem(await requestCoupon(t, 'R0003', newUserId()), 'EVENT_NOT_OPEN');
      const held = await requestCoupon(t, 'R0003', winner);
      expect({ status: held.status, ticketId: held.body.ticketId, state: held.body.status }).toEqual({ status: 200, ticketId: walletId, state: 'issued' });
    });

    it('a Redis gone back in time past a pause (the mirror says active again) admits nobody: flagged stale, refused until a heal', async () => {
      await create(t, { code: 'R0004', name: 'Rollback', discountAmount: 1, totalQuantity: 10 });
      await admin(t, 'POST', '/admin/v1/coupons/R0004/pause');
      await waitFor(() => t.api.catalog.find('R0004').then((coupon) => coupon?.stateVersion === 1), { timeoutMs: 4_000, message: 'the catalog to hear of the pause' });
      const meta = couponKeys(t.env.config.REDIS_PREFIX, 'R0004').meta;
      // What an older snapshot would hold: the mirror from before the pause.
      await t.env.redis.hset(meta, { run: 'active', runVersion: '0' });
      const refused = await requestCoupon(t, 'R0004', newUserId());
      expectRetryLater(refused, 'UNAVAILABLE'); // no worker here to heal it: the client comes back later
      expect(await t.env.redis.hget(meta, 'stale')).toBe('1');
      expect(await t.env.redis.get(couponKeys(t.env.config.REDIS_PREFIX, 'R0004').seq)).toBeNull();
    });

    it('404 COUPON_NOT_FOUND for an unknown coupon', async () => {
      expectProblem(await admin(t, 'POST', '/admin/v1/coupons/NOPE9/pause'), 'COUPON_NOT_FOUND');
    });
  });

  describe('GET /admin/v1/audit', () => {
    it('newest first, with at, action, coupon, token id, before and after', async () => {
      const res = await admin(t, 'GET', '/admin/v1/audit');
      expect(res.status).toBe(200);
      const at = (res.body as { at: string }[]).map((entry) => Date.parse(entry.at));
      expect(at).toEqual([...at].sort((a, b) => b - a));
      const created = (res.body as { action: string; couponCode: string }[]).find((entry) => entry.action === 'create' && entry.couponCode === 'D0001');
      expect(created).toEqual({ at: expect.any(String), action: 'create', couponCode: 'D0001', tokenId: adminTokenId(TOKEN), before: null, after: expect.objectContaining({ code: 'D0001', totalQuantity: 500 }) });
    });

    it('400 INVALID_QUERY for a bad limit or an unknown parameter', async () => {
      expectProblem(await admin(t, 'GET', '/admin/v1/audit?limit=0'), 'INVALID_QUERY');
      expectProblem(await admin(t, 'GET', '/admin/v1/audit?limit=abc'), 'INVALID_QUERY');
      expectProblem(await admin(t, 'GET', '/admin/v1/audit?token=x'), 'INVALID_QUERY');
    });
  });
});

describe('admin API without ADMIN_TOKEN', () => {
  const t = useTestApi();

  it('is not served at all: 404 on the operations port, even with a token', async () => {
    for (const path of ['/admin/v1/coupons', '/admin/v1/openapi.json']) {
      const res = await admin(t, 'GET', path);
      expectProblem(res, 'ROUTE_NOT_FOUND');
    }
    expect((await fetch(`${t.opsUrl}/metrics`)).status).toBe(200);
  });
});

describe('pause while Redis cannot be reached', () => {
  const proxy = useTcpProxy('redis');
  const t = useTestApi({ ADMIN_TOKEN: TOKEN }, () => ({ redisPort: proxy.port }));

  it('503 UNAVAILABLE with Retry-After, the pause kept in Postgres; a retry once Redis is back writes it and answers 200', async () => {
    expect((await create(t, { code: 'O0001', name: 'Outage', discountAmount: 1, totalQuantity: 10 })).status).toBe(201);
    proxy.cut();
    const refused = await admin(t, 'POST', '/admin/v1/coupons/O0001/pause');
    expectRetryLater(refused, 'UNAVAILABLE');
    const row = await t.env.db.selectFrom('coupon').select(['paused_at', 'state_version']).where('code', '=', 'O0001').executeTakeFirstOrThrow();
    expect(row.paused_at).not.toBeNull();
    await proxy.restore();
    await waitUntilReady(t);
    // Redis never got it: the mirror still admits until the retry (or a worker's reconcile) writes it.
    expect(await t.env.redis.hget(couponKeys(t.env.config.REDIS_PREFIX, 'O0001').meta, 'run')).toBe('active');
    const retried = await admin(t, 'POST', '/admin/v1/coupons/O0001/pause');
    expect(retried.body).toMatchObject({ state: 'paused' });
    expectProblem(await requestCoupon(t, 'O0001', newUserId()), 'EVENT_PAUSED');
    expect((await admin(t, 'GET', '/admin/v1/audit?coupon=O0001')).body.map((entry: { action: string }) => entry.action)).toEqual(['pause', 'create']);
  });

  it('a create while Redis cannot be reached still answers 201 (the coupon is in Postgres; its mirror waits for a heal)', async () => {
    proxy.cut();
    const created = await create(t, { code: 'O0002', name: 'Outage create', discountAmount: 1, totalQuantity: 10 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: 'O0002', state: 'open', pending: 0, admitted: 0 });
    await proxy.restore();
    await waitUntilReady(t);
    expect((await admin(t, 'GET', '/admin/v1/coupons/O0002')).body).toMatchObject({ code: 'O0002', state: 'open' });
    expectProblem(await create(t, { code: 'O0002', name: 'Again', discountAmount: 1, totalQuantity: 10 }), 'COUPON_EXISTS');
  });
});
