// AUTH_MODE=jwt: the caller is the `sub` of an `Authorization: Bearer` JWT that fast-jwt verified:
// signature (an allowed asymmetric algorithm, a key from AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY),
// exp and nbf (with a small clock tolerance), iss and aud. `sub` must be a UUID (not the nil or
// max one): an identity provider with other subject ids maps them to UUIDs in a custom claim
// mapper, or its tokens are refused.
//
// Why fast-jwt and not jose's jwtVerify: jose 6 verifies through WebCrypto, whose every check is a
// round trip to libuv's thread pool (~120-180 µs of CPU per RS256 token for ~50 µs of RSA maths).
// fast-jwt verifies synchronously with node:crypto on a KeyObject. jose stays for what it does
// well: fetching, caching and rotating the JWKS (createRemoteJWKSet) and reading a token's header.
//
// The answers say only the code: 401 MISSING_TOKEN, TOKEN_EXPIRED (a genuine token past its exp)
// or INVALID_TOKEN (anything else). Never a 500: a key set that cannot be fetched is a dependency
// down, 503 UNAVAILABLE with Retry-After, like Redis or Postgres.
import { createPublicKey, KeyObject } from 'node:crypto';
import type { Request } from 'express';
import { createVerifier, TokenError, type Algorithm } from 'fast-jwt';
import { createRemoteJWKSet, decodeProtectedHeader, errors, type CryptoKey, type JWSHeaderParameters } from 'jose';
import type { Config } from '@coupons/shared/config';
import { HttpError, unavailable } from '../errors/http-error.ts';
import type { Identify } from './identify.ts';
import { canonicalUserId } from './user-id.ts';
import { VerifiedTokens } from './verified-tokens.ts';

/** Longer than any JWT an identity provider issues for this; a bigger header is refused before parsing. */
const MAX_TOKEN_LENGTH = 8_192;
const BEARER = /^Bearer +([A-Za-z0-9_.~+/=-]+)$/i;

/** RFC 6750's challenge, so a client library knows to fetch a (new) token. */
const challenge = (error?: 'invalid_token') => ({ 'WWW-Authenticate': error ? `Bearer error="${error}"` : 'Bearer' });
const refused = (code: 'MISSING_TOKEN' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED') =>
  new HttpError(code, undefined, challenge(code === 'MISSING_TOKEN' ? undefined : 'invalid_token'));

/** The key set could not be read (network, timeout, not a JWKS): the provider's fault, not the token's. */
class KeySetUnavailable extends Error {
  override name = 'KeySetUnavailable';
}

/** Test knobs (how jose caches the JWKS); production uses jose's defaults. */
export interface JwtOptions {
  /** Least time between two fetches of the JWKS (jose's cooldownDuration; default 30 s). */
  jwksCooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again (jose's cacheMaxAge; default 10 min). */
  jwksMaxAgeMs?: number;
  /** How long one JWKS fetch may take (default 5 s). */
  jwksTimeoutMs?: number;
  /** Verified tokens remembered (default 10,000; 0: none). */
  cacheEntries?: number;
}

/**
 * The JWKS's key for a token's header (a WebCrypto CryptoKey). jose fetches the set on first use,
 * caches it, and fetches it again when a token names a `kid` it does not hold (at most once per
 * cooldown): so a provider's key rotation works without a restart. Errors that are the token's (no
 * key with its kid) stay token errors; every other failure is the key set being unavailable.
 */
function remoteKeys(url: string, options: JwtOptions): (header: JWSHeaderParameters) => Promise<CryptoKey> {
  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
    ...(options.jwksCooldownMs !== undefined && { cooldownDuration: options.jwksCooldownMs }),
    ...(options.jwksMaxAgeMs !== undefined && { cacheMaxAge: options.jwksMaxAgeMs }),
  });
  return async (header) => {
    try {
      return await remote(header);
    } catch (error) {
      const tokens = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];
      if (tokens.some((kind) => error instanceof kind)) throw error;
      throw new KeySetUnavailable((error as Error).message, { cause: error });
    }
  };
}

const EC_ALGORITHMS: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The allowed algorithms `key` can verify. fast-jwt only checks that one listed algorithm fits
 * the key and would, say, take an "RS256" header over an EC key, or an ES256 one over a secp256k1
 * key; jose refused both, and so does this list.
 */
function algorithmsFor(key: KeyObject, allowed: readonly string[]): string[] {
  const type = key.asymmetricKeyType;
  const fits = (alg: string) =>
    type === 'rsa' ? /^(RS|PS)/.test(alg) : type === 'ec' ? alg === EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''] : type === 'ed25519' && /^(EdDSA|Ed25519)$/.test(alg);
  const algorithms = allowed.filter(fits);
  // fast-jwt knows an Ed25519 key as "EdDSA" only (it verifies both names alike); the header check
  // in jwtIdentify still holds a token to the configured names.
  if (algorithms.includes('Ed25519') && !algorithms.includes('EdDSA')) algorithms.push('EdDSA');
  return algorithms;
}

type Verify = (token: string) => { sub?: unknown; exp: number };

/**
 * A synchronous fast-jwt verifier for one key, or undefined when the key fits no allowed algorithm
 * or fast-jwt cannot use it: its tokens are all invalid (401), never a 500.
 */
function verifierFor(key: KeyObject, config: Config): Verify | undefined {
  const algorithms = algorithmsFor(key, config.AUTH_JWT_ALGORITHMS);
  if (algorithms.length === 0) return undefined;
  try {
    return createVerifier({
      // A PEM string: fast-jwt's verifier is synchronous for a string key (async for a key function).
      key: key.export({ type: 'spki', format: 'pem' }) as string,
      algorithms: algorithms as Algorithm[],
      allowedIss: config.AUTH_JWT_ISSUER!,
      allowedAud: config.AUTH_JWT_AUDIENCE!,
      clockTolerance: config.AUTH_JWT_CLOCK_TOLERANCE_SECONDS * 1000, // fast-jwt counts in ms
      // fast-jwt checks iss and aud only when present: required here. A token without exp would be
      // valid forever; without sub it names nobody.
      requiredClaims: ['exp', 'sub', 'iss', 'aud'],
    });
  } catch {
    return undefined;
  }
}

/** The token of `Authorization: Bearer <token>`: 401 MISSING_TOKEN without one, INVALID_TOKEN when it cannot be one. */
function bearerToken(req: Request): string {
  const header = req.get('authorization')?.trim();
  if (!header || !/^Bearer\b/i.test(header)) throw refused('MISSING_TOKEN');
  const match = header.length <= MAX_TOKEN_LENGTH + 7 ? BEARER.exec(header) : null;
  if (!match) throw refused('INVALID_TOKEN');
  return match[1]!;
}

const isRead = (req: { method: string }) => req.method === 'GET' || req.method === 'HEAD';

export function jwtIdentify(config: Config, options: JwtOptions = {}): Identify {
  const allowed = new Set<string>(config.AUTH_JWT_ALGORITHMS);
  const verified = new VerifiedTokens(options.cacheEntries ?? 10_000);

  /** The header, once its alg is an allowed one (before any key is looked up, let alone a JWKS fetched). */
  const headerOf = (token: string): JWSHeaderParameters => {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw refused('INVALID_TOKEN');
    }
    if (!allowed.has(header.alg!)) throw refused('INVALID_TOKEN');
    return header;
  };

  /**
   * Verifies `token` with `verify` (signature first, then the claims); on a read, remembers its
   * user. A token comes back on reads (a client polls its ticket with the token it asked with); a
   * first request rarely repeats, and in a burst storing every first token costs more than the
   * few hits save (measured: the store alone was ~10 µs a request).
   */
  const check = (token: string, verify: Verify | undefined, remember: boolean): string => {
    if (!verify) throw refused('INVALID_TOKEN');
    let payload;
    try {
      payload = verify(token);
    } catch (error) {
      // fast-jwt checks the signature before the claims: an expired token here is a genuine one.
      throw refused(error instanceof TokenError && error.code === TokenError.codes.expired ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN');
    }
    const userId = canonicalUserId(payload.sub);
    if (userId === undefined) throw refused('INVALID_TOKEN');
    if (remember) verified.set(token, userId, payload.exp * 1000);
    return userId;
  };

  if (config.AUTH_JWKS_URL) {
    const keyFor = remoteKeys(config.AUTH_JWKS_URL, options);
    // One verifier per key jose hands out. jose returns the same CryptoKey for a JWK (and alg) as
    // long as it holds that JWK, so this is a cache per kid that follows jose's refetches and lets
    // a dropped key go (WeakMap): the KeyObject conversion and PEM parsing happen once per key.
    const verifiers = new WeakMap<CryptoKey, Verify | undefined>();
    return async (req) => {
      const token = bearerToken(req);
      const known = verified.get(token);
      if (known !== undefined) return known;
      const header = headerOf(token);
      let key;
      try {
        key = await keyFor(header);
      } catch (error) {
        if (error instanceof KeySetUnavailable) throw unavailable(config.RETRY_AFTER_SECONDS, "The identity provider's key set");
        throw refused('INVALID_TOKEN');
      }
      if (!verifiers.has(key)) verifiers.set(key, verifierFor(KeyObject.from(key), config));
      return check(token, verifiers.get(key), isRead(req));
    };
  }

  // One PEM key: one verifier, built at start. Identification is then synchronous.
  const verify = verifierFor(createPublicKey(config.AUTH_JWT_PUBLIC_KEY!), config);
  return (req) => {
    const token = bearerToken(req);
    const known = verified.get(token);
    if (known !== undefined) return known;
    headerOf(token);
    return check(token, verify, isRead(req));
  };
}
