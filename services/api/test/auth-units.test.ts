// The pieces of auth/ on their own: a JWKS served over real HTTP that rotates its keys, the
// verified-token cache, and the trusted-proxy address list.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@coupons/shared/config';
import { TokenIssuer } from '@coupons/harness/identity';
import { trustedPeers } from '../src/auth/gateway.ts';
import { jwtIdentify } from '../src/auth/jwt.ts';
import { VerifiedTokens } from '../src/auth/verified-tokens.ts';
import { HttpError } from '../src/errors/http-error.ts';

/** What jwtIdentify reads of a request: its Authorization header. */
const withToken = (token: string) => ({ get: (name: string) => (name.toLowerCase() === 'authorization' ? `Bearer ${token}` : undefined) }) as unknown as Request;

async function codeOf(promise: Promise<unknown> | unknown): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (error instanceof HttpError) return error.code;
    throw error;
  }
}

describe('AUTH_MODE=jwt with a JWKS (a local HTTP server)', () => {
  let served: JWK[] = [];
  let fetches = 0;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: served }));
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('accepts a key that appears after a rotation, fetching the set again only for an unknown kid', async () => {
    const [current, next, stranger] = await Promise.all([TokenIssuer.create(), TokenIssuer.create(), TokenIssuer.create()]);
    served = [current.publicJwk];
    const config = loadConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: url, AUTH_JWT_ISSUER: current.issuer, AUTH_JWT_AUDIENCE: current.audience });
    const identify = jwtIdentify(config, { jwksCooldownMs: 0 });
    const user = crypto.randomUUID();

    expect(await identify(withToken(await current.mint(user)))).toBe(user);
    expect(await identify(withToken(await current.mint(user)))).toBe(user);
    expect(fetches).toBe(1); // cached

    // Before the provider publishes the new key, its tokens are refused; once it does, accepted.
    expect(await codeOf(identify(withToken(await next.mint(user))))).toBe('INVALID_TOKEN');
    served = [current.publicJwk, next.publicJwk];
    expect(await identify(withToken(await next.mint(user)))).toBe(user);
    expect(await identify(withToken(await current.mint(user)))).toBe(user);

    // A key nobody published stays a bad token (401), not an unavailable provider (503).
    expect(await codeOf(identify(withToken(await stranger.mint(user))))).toBe('INVALID_TOKEN');
    expect(await codeOf(identify(withToken(await current.mint(user, { expiresInSeconds: -30 }))))).toBe('TOKEN_EXPIRED');
  });

  it('answers 503 UNAVAILABLE when the set is not a JWKS, and recovers once it is', async () => {
    const issuer = await TokenIssuer.create();
    served = 'not keys' as unknown as JWK[];
    const identify = jwtIdentify(loadConfig({ AUTH_MODE: 'jwt', AUTH_JWKS_URL: url, AUTH_JWT_ISSUER: issuer.issuer, AUTH_JWT_AUDIENCE: issuer.audience }), { jwksCooldownMs: 0 });
    expect(await codeOf(identify(withToken(await issuer.mint(crypto.randomUUID()))))).toBe('UNAVAILABLE');
    served = [issuer.publicJwk];
    expect(await codeOf(identify(withToken(await issuer.mint(crypto.randomUUID()))))).toBe('accepted');
  });
});

describe('VerifiedTokens', () => {
  it('keeps an entry until the token expires or 60 s pass, whichever is first', () => {
    const cache = new VerifiedTokens(10, 60_000);
    cache.set('short', 'u1', 1_000 + 5_000, 1_000);
    cache.set('long', 'u2', 1_000 + 3_600_000, 1_000);
    expect([cache.get('short', 5_999), cache.get('long', 5_999)]).toEqual(['u1', 'u2']);
    expect(cache.get('short', 6_000)).toBeUndefined();
    expect(cache.get('long', 60_999)).toBe('u2');
    expect(cache.get('long', 61_000)).toBeUndefined();
    cache.set('expired', 'u3', 500, 1_000);
    expect(cache.get('expired', 1_000)).toBeUndefined();
  });

  it('stays within its bound, dropping the least recently used', () => {
    const cache = new VerifiedTokens(3, 60_000);
    for (const token of ['a', 'b', 'c']) cache.set(token, token, Infinity, 0);
    expect(cache.get('a', 1)).toBe('a'); // a is now the most recent
    cache.set('d', 'd', Infinity, 1);
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((token) => cache.get(token, 2))).toEqual(['a', undefined, 'c', 'd']);
  });
});

describe('trustedPeers', () => {
  it('matches addresses and CIDRs of both families, IPv4 peers on dual-stack sockets included', () => {
    const peers = trustedPeers(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    const check = (address: string) => peers.check(address.replace(/^::ffff:/, ''), address.includes(':') && !address.startsWith('::ffff:') ? 'ipv6' : 'ipv4');
    expect(['10.1.2.3', '192.168.1.7', '::ffff:10.9.9.9', 'fd12::1'].map(check)).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '192.168.1.8', '127.0.0.1', 'fe80::1'].map(check)).toEqual([false, false, false, false]);
  });
});
