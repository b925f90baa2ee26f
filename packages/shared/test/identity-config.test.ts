// The identity variables (AUTH_*): each mode's needs, each form, one line naming the variable, and no secret repeated.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.ts';
import { gatewayHeaders, verifyGatewaySignature } from '../src/auth/index.ts';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const JWT = { AUTH_MODE: 'jwt', AUTH_JWT_ISSUER: 'https://id.example/', AUTH_JWT_AUDIENCE: 'coupons-api' };

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('the identity configuration', () => {
  it('defaults to trusted-header with RS256/ES256, a 5 s clock tolerance and a 30 s gateway skew', () => {
    expect(loadConfig({})).toMatchObject({ AUTH_MODE: 'trusted-header', AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'], AUTH_JWT_CLOCK_TOLERANCE_SECONDS: 5, AUTH_GATEWAY_MAX_SKEW_SECONDS: 30 });
  });

  it('takes the JWT key as PEM text, PEM with \\n escapes, or a file path', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'auth-key-')), 'public.pem');
    writeFileSync(file, pem);
    for (const value of [pem, pem.replaceAll('\n', '\\n'), file]) {
      expect(loadConfig({ ...JWT, AUTH_JWT_PUBLIC_KEY: value }).AUTH_JWT_PUBLIC_KEY).toBe(pem.trim());
    }
  });

  it.each([
    [{ AUTH_MODE: 'jwt', AUTH_JWT_AUDIENCE: 'a', AUTH_JWKS_URL: 'https://id.example/jwks' }, 'AUTH_JWT_ISSUER', /required with AUTH_MODE=jwt/],
    [{ AUTH_MODE: 'jwt', AUTH_JWT_ISSUER: 'i', AUTH_JWKS_URL: 'https://id.example/jwks' }, 'AUTH_JWT_AUDIENCE', /required with AUTH_MODE=jwt/],
    [JWT, 'AUTH_JWKS_URL', /needs AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY/],
    [{ ...JWT, AUTH_JWKS_URL: 'https://id.example/jwks', AUTH_JWT_PUBLIC_KEY: pem }, 'AUTH_JWT_PUBLIC_KEY', /not both/],
    [{ ...JWT, AUTH_JWKS_URL: 'http://id.example/jwks' }, 'AUTH_JWKS_URL', /must be https/],
    [{ ...JWT, AUTH_JWT_PUBLIC_KEY: '/no/such/key.pem' }, 'AUTH_JWT_PUBLIC_KEY', /neither PEM text nor a readable file/],
    [{ ...JWT, AUTH_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, 'AUTH_JWT_PUBLIC_KEY', /not an SPKI public key/],
    [{ AUTH_JWT_ALGORITHMS: 'RS256,HS256' }, 'AUTH_JWT_ALGORITHMS', /"HS256" is not one of/],
    [{ AUTH_JWT_ALGORITHMS: 'none' }, 'AUTH_JWT_ALGORITHMS', /"none" is not one of/],
    [{ AUTH_MODE: 'gateway' }, 'AUTH_GATEWAY_SECRET', /needs AUTH_GATEWAY_SECRET or AUTH_TRUSTED_PROXIES/],
    [{ AUTH_MODE: 'gateway', AUTH_GATEWAY_SECRET: 'too-short-secret' }, 'AUTH_GATEWAY_SECRET', /at least 32 characters/],
    [{ AUTH_TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.1/40' }, 'AUTH_TRUSTED_PROXIES', /"10.0.0.1\/40" is not an IP address or CIDR/],
    [{ AUTH_TRUSTED_PROXIES: 'gateway.internal' }, 'AUTH_TRUSTED_PROXIES', /is not an IP address or CIDR/],
    [{ AUTH_MODE: 'oauth' }, 'AUTH_MODE', /jwt|gateway|trusted-header/],
  ])('refuses %j: one line naming %s', (env, variable, message) => {
    const line = errorOf(env as Record<string, string>);
    expect(line).toMatch(new RegExp(`^Invalid configuration: ${variable}\\b`));
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
  });

  it('never repeats a secret or a key in its message', () => {
    const line = errorOf({ AUTH_MODE: 'gateway', AUTH_GATEWAY_SECRET: 'hunter2-hunter2' });
    expect(line).not.toContain('hunter2');
    expect(line).toContain('15 characters, not shown');
  });

  it('takes the gateway with a secret, trusted proxies, or both', () => {
    const secret = 'x'.repeat(32);
    expect(loadConfig({ AUTH_MODE: 'gateway', AUTH_GATEWAY_SECRET: secret }).AUTH_GATEWAY_SECRET).toBe(secret);
    expect(loadConfig({ AUTH_MODE: 'gateway', AUTH_TRUSTED_PROXIES: '10.0.0.0/8, ::1 ,fd00::/8' }).AUTH_TRUSTED_PROXIES).toEqual(['10.0.0.0/8', '::1', 'fd00::/8']);
  });
});

describe('the gateway signature', () => {
  const secret = 's'.repeat(32);
  const user = '0b9d3c1e-6f7a-4c2d-9a51-2f0f8e6b7c11';
  const at = Date.parse('2030-01-01T00:00:00Z');
  const signed = gatewayHeaders(secret, user, at);
  const check = (headers: Record<string, string>, nowMs = at, skew = 30) =>
    verifyGatewaySignature(secret, headers['x-user-id']!, headers['x-gateway-timestamp'], headers['x-gateway-signature'], skew, nowMs);

  it('holds for its user, within the skew either way, in either hex case', () => {
    expect(check(signed)).toBe(true);
    expect([check(signed, at + 30_000), check(signed, at - 30_000)]).toEqual([true, true]);
    expect(check({ ...signed, 'x-gateway-signature': signed['x-gateway-signature']!.toUpperCase() })).toBe(true);
  });

  it('fails outside the skew, for another user, another secret, or a malformed part', () => {
    expect([check(signed, at + 31_000), check(signed, at - 31_000)]).toEqual([false, false]);
    expect(check({ ...signed, 'x-user-id': user.replace('0b9d', '0b9e') })).toBe(false);
    expect(check(gatewayHeaders('t'.repeat(32), user, at))).toBe(false);
    expect(check({ ...signed, 'x-gateway-timestamp': `${signed['x-gateway-timestamp']}.0` })).toBe(false);
    expect(check({ ...signed, 'x-gateway-signature': signed['x-gateway-signature']!.slice(2) })).toBe(false);
    expect(verifyGatewaySignature(secret, user, undefined, undefined, 30, at)).toBe(false);
  });
});
