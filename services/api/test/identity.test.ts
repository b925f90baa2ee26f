// Identity modes (issue 11), against a real API over its own database and Redis prefix: in jwt
// mode a forged or foreign identity can neither read nor claim anything; gateway mode believes
// X-User-Id only with the gateway's proof; every mode refuses the nil and max UUIDs.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { gatewayHeaders, gatewaySignature } from '@coupons/shared/auth';
import { loadConfig } from '@coupons/shared/config';
import { TokenIssuer } from '@coupons/harness/identity';
import { createIdentify } from '../src/auth/identify.ts';
import { PROBLEMS, type ProblemCode } from '../src/errors/problem-catalog.ts';
import { startTestApi } from './api-harness.ts';
import { countJobs, expectProblem, newUserId, send, useBeforeAll, useTestApi, type Reply } from './helpers.ts';

const NIL = '00000000-0000-0000-0000-000000000000';
const MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The problem, with nothing beyond its code: the catalog's own detail, no hint of which check failed. */
function expectBareProblem(res: Reply, code: ProblemCode): void {
  expectProblem(res, code);
  expect(res.body.detail).toBe(PROBLEMS[code].detail);
}

describe('AUTH_MODE=jwt with a public key', () => {
  const keys = useBeforeAll(async () => ({ issuer: await TokenIssuer.create(), foreign: await TokenIssuer.create() }), async () => {});
  const t = useBeforeAll(async () => startTestApi(keys.issuer.serverEnv()), (api) => api.close());

  const claim = (headers: Record<string, string>) => send(t, 'POST', '/v1/coupons/A0001/issue-requests', { headers });

  it('takes the caller from a valid token: claim, poll (owner only), wallet', async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    const aliceToken = await keys.issuer.mint(alice);
    const admitted = await claim(bearer(aliceToken));
    expect(admitted.status).toBe(202);
    const again = await claim(bearer(aliceToken)); // a verified token remembered: the same answer
    expect({ status: again.status, ticketId: again.body.ticketId }).toEqual({ status: 200, ticketId: admitted.body.ticketId });

    const polled = await send(t, 'GET', admitted.body.pollUrl, { headers: bearer(aliceToken) });
    expect({ status: polled.status, userId: polled.body.userId }).toEqual({ status: 200, userId: alice });
    // Bob's token is genuine, but the ticket is Alice's: answered as if it did not exist.
    expectProblem(await send(t, 'GET', admitted.body.pollUrl, { headers: bearer(await keys.issuer.mint(bob)) }), 'TICKET_NOT_FOUND');
    // X-User-Id means nothing in this mode: Bob naming Alice is still Bob.
    expectProblem(await send(t, 'GET', admitted.body.pollUrl, { headers: { ...bearer(await keys.issuer.mint(bob)), 'x-user-id': alice } }), 'TICKET_NOT_FOUND');

    const wallet = await send(t, 'GET', '/v1/me/coupons', { headers: bearer(aliceToken) });
    expect({ status: wallet.status, body: wallet.body }).toEqual({ status: 200, body: [] });
  });

  it('refuses every forged, foreign, stale or malformed identity with its 401 code, and claims and reads nothing', async () => {
    const user = newUserId();
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: user, iss: keys.issuer.issuer, aud: keys.issuer.audience, exp: now + 600 })}.`;
    const genuine = await keys.issuer.mint(user);
    const [header, payload] = genuine.split('.');
    const cases: [string, Record<string, string>, ProblemCode][] = [
      ['no Authorization', {}, 'MISSING_TOKEN'],
      ['X-User-Id alone (the old forgery)', { 'x-user-id': user }, 'MISSING_TOKEN'],
      ['a Basic credential', { authorization: 'Basic dXNlcjpwYXNz' }, 'MISSING_TOKEN'],
      ['Bearer and nothing', { authorization: 'Bearer ' }, 'INVALID_TOKEN'],
      ['a second key pair', bearer(await keys.foreign.mint(user)), 'INVALID_TOKEN'],
      ['an expired token', bearer(await keys.issuer.mint(user, { expiresInSeconds: -60 })), 'TOKEN_EXPIRED'],
      ['an expired token of a second key pair', bearer(await keys.foreign.mint(user, { expiresInSeconds: -60 })), 'INVALID_TOKEN'],
      ['a token not valid yet', bearer(await keys.issuer.mint(user, { notBeforeInSeconds: 600 })), 'INVALID_TOKEN'],
      ['the wrong audience', bearer(await keys.issuer.mint(user, { audience: 'another-api' })), 'INVALID_TOKEN'],
      ['the wrong issuer', bearer(await keys.issuer.mint(user, { issuer: 'https://evil.example/' })), 'INVALID_TOKEN'],
      ['alg none', bearer(unsigned), 'INVALID_TOKEN'],
      ['a payload swapped under a genuine signature', bearer(`${header}.${b64({ sub: newUserId() })}.${genuine.split('.')[2]}`), 'INVALID_TOKEN'],
      ['no signature', bearer(`${header}.${payload}.`), 'INVALID_TOKEN'],
      ['not a JWT', bearer('not-a-token'), 'INVALID_TOKEN'],
      ['three garbage parts', bearer('a.b.c'), 'INVALID_TOKEN'],
      ['a sub that is not a UUID', bearer(await keys.issuer.mint('user-42')), 'INVALID_TOKEN'],
      ['the nil UUID as sub', bearer(await keys.issuer.mint(NIL)), 'INVALID_TOKEN'],
      ['the max UUID as sub', bearer(await keys.issuer.mint(MAX)), 'INVALID_TOKEN'],
    ];
    const jobsBefore = await countJobs(t);
    for (const [what, headers, code] of cases) {
      for (const res of [await claim(headers), await send(t, 'GET', '/v1/me/coupons', { headers }), await send(t, 'GET', `/v1/tickets/${newUserId()}`, { headers })]) {
        expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status: 401, code });
        expectBareProblem(res, code);
        expect(res.headers.get('www-authenticate'), what).toMatch(/^Bearer\b/);
      }
    }
    expect(await countJobs(t)).toBe(jobsBefore);
  });
});

describe('AUTH_MODE=jwt with a JWKS that cannot be fetched', () => {
  // Nothing listens on port 9 of localhost: every fetch is refused.
  const t = useTestApi({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json', AUTH_JWT_ISSUER: 'https://id.coupons.test/', AUTH_JWT_AUDIENCE: 'coupons-api' });

  it('answers 503 UNAVAILABLE with Retry-After (a dependency down), never a 401 or a 500', async () => {
    const issuer = await TokenIssuer.create();
    const res = await send(t, 'POST', '/v1/coupons/A0001/issue-requests', { headers: bearer(await issuer.mint(newUserId())) });
    expectProblem(res, 'UNAVAILABLE');
    expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    // No token at all is still the client's fault, JWKS or not.
    expectProblem(await send(t, 'POST', '/v1/coupons/A0001/issue-requests'), 'MISSING_TOKEN');
  });
});

describe('AUTH_MODE=gateway with a shared secret', () => {
  const secret = randomBytes(32).toString('hex');
  const t = useTestApi({ AUTH_MODE: 'gateway', AUTH_GATEWAY_SECRET: secret, AUTH_GATEWAY_MAX_SKEW_SECONDS: '30' });
  const claim = (headers: Record<string, string>) => send(t, 'POST', '/v1/coupons/A0001/issue-requests', { headers });

  it('believes X-User-Id signed by the gateway', async () => {
    const user = newUserId();
    const res = await claim(gatewayHeaders(secret, user));
    expect(res.status).toBe(202);
    const polled = await send(t, 'GET', res.body.pollUrl, { headers: gatewayHeaders(secret, user) });
    expect({ status: polled.status, userId: polled.body.userId }).toEqual({ status: 200, userId: user });
  });

  it('refuses a missing, wrong, stale or borrowed signature with 401 and claims nothing', async () => {
    const user = newUserId();
    const signed = gatewayHeaders(secret, user);
    const stale = gatewayHeaders(secret, user, Date.now() - 120_000);
    const future = gatewayHeaders(secret, user, Date.now() + 120_000);
    const cases: [string, Record<string, string>][] = [
      ['no signature', { 'x-user-id': user }],
      ['no timestamp', { 'x-user-id': user, 'x-gateway-signature': signed['x-gateway-signature']! }],
      ['another secret', gatewayHeaders(randomBytes(32).toString('hex'), user)],
      ['a flipped signature', { ...signed, 'x-gateway-signature': signed['x-gateway-signature']!.replace(/^./, (c) => (c === '0' ? '1' : '0')) }],
      ['a signature of another user', { ...gatewayHeaders(secret, newUserId()), 'x-user-id': user }],
      ['two minutes old', stale],
      ['two minutes ahead', future],
      ['a signature not in hex', { ...signed, 'x-gateway-signature': 'z'.repeat(64) }],
      ['X-Forwarded-For from a private address', { 'x-user-id': user, 'x-forwarded-for': '10.0.0.1' }],
    ];
    const jobsBefore = await countJobs(t);
    for (const [what, headers] of cases) {
      const res = await claim(headers);
      expect({ what, status: res.status, code: res.body?.code }).toEqual({ what, status: 401, code: 'UNVERIFIED_USER_ID' });
      expectBareProblem(res, 'UNVERIFIED_USER_ID');
    }
    expectProblem(await claim({}), 'MISSING_USER_ID');
    expect(await countJobs(t)).toBe(jobsBefore);
  });

  it('refuses the nil and max UUIDs even when signed', async () => {
    for (const reserved of [NIL, MAX]) expectProblem(await claim(gatewayHeaders(secret, reserved)), 'INVALID_USER_ID');
    const timestamp = Math.floor(Date.now() / 1000);
    expectProblem(await claim({ 'x-user-id': 'nobody', 'x-gateway-timestamp': String(timestamp), 'x-gateway-signature': gatewaySignature(secret, 'nobody', timestamp) }), 'INVALID_USER_ID');
  });
});

describe('AUTH_MODE=gateway with trusted proxy addresses', () => {
  // This test's client connects from 127.0.0.1: trusted by one API, not by the other.
  const trusting = useTestApi({ AUTH_MODE: 'gateway', AUTH_TRUSTED_PROXIES: '127.0.0.0/8,::1' });
  const distrusting = useTestApi({ AUTH_MODE: 'gateway', AUTH_TRUSTED_PROXIES: '10.0.0.0/8,fd00::/8' });

  it('believes X-User-Id from a trusted peer address and refuses it from any other, whatever X-Forwarded-For says', async () => {
    const user = newUserId();
    expect((await send(trusting, 'POST', '/v1/coupons/A0001/issue-requests', { userId: user })).status).toBe(202);
    for (const headers of [{}, { 'x-forwarded-for': '10.1.2.3' }, { 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' }] as Record<string, string>[]) {
      expectBareProblem(await send(distrusting, 'POST', '/v1/coupons/A0001/issue-requests', { userId: user, headers }), 'UNVERIFIED_USER_ID');
    }
  });
});

describe('AUTH_MODE=trusted-header (the default)', () => {
  const t = useTestApi();

  it('refuses the nil and max UUIDs as users, in any case', async () => {
    for (const reserved of [NIL, MAX, MAX.toUpperCase()]) {
      expectProblem(await send(t, 'POST', '/v1/coupons/A0001/issue-requests', { userId: reserved }), 'INVALID_USER_ID');
      expectProblem(await send(t, 'GET', '/v1/me/coupons', { userId: reserved }), 'INVALID_USER_ID');
    }
  });

  it('logs one warning at start when NODE_ENV=production, and none otherwise or in the other modes', async () => {
    const warnings = (mode: Record<string, string>, nodeEnv: string | undefined) => {
      const lines: string[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      createIdentify(loadConfig(mode), log, { nodeEnv });
      return lines.map((line) => JSON.parse(line)).filter((record) => record.level === 40);
    };
    const production = warnings({}, 'production');
    expect(production).toHaveLength(1);
    expect(production[0].msg).toMatch(/AUTH_MODE=trusted-header in production/);
    expect(warnings({}, 'development')).toEqual([]);
    expect(warnings({}, undefined)).toEqual([]);
    expect(warnings({ AUTH_MODE: 'gateway', AUTH_TRUSTED_PROXIES: '10.0.0.0/8' }, 'production')).toEqual([]);
  });
});
