// AUTH_MODE=jwt: the caller is the `sub` of an `Authorization: Bearer` JWT that jose verified:
// signature (an allowed asymmetric algorithm, a key from AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY),
// exp and nbf (with a small clock tolerance), iss and aud. `sub` must be a UUID (not the nil or
// max one): an identity provider with other subject ids maps them to UUIDs in a custom claim
// mapper, or its tokens are refused.
//
// The answers say only the code: 401 MISSING_TOKEN, TOKEN_EXPIRED (a genuine token past its exp)
// or INVALID_TOKEN (anything else). Never a 500: a key set that cannot be fetched is a dependency
// down, 503 UNAVAILABLE with Retry-After, like Redis or Postgres.
import type { Request } from 'express';
import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
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

/** Test knobs (how the JWKS is cached); production uses jose's defaults. */
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
 * The key for a token. A JWKS is fetched on first use, cached, and fetched again when a token
 * names a `kid` it does not hold (at most once per cooldown): so a provider's key rotation works
 * without a restart. Errors that are the token's (no key with its kid) stay token errors; every
 * other failure is the key set being unavailable.
 */
function keySource(config: Config, options: JwtOptions): JWTVerifyGetKey {
  if (config.AUTH_JWKS_URL) {
    const remote = createRemoteJWKSet(new URL(config.AUTH_JWKS_URL), {
      timeoutDuration: options.jwksTimeoutMs ?? 5_000,
      ...(options.jwksCooldownMs !== undefined && { cooldownDuration: options.jwksCooldownMs }),
      ...(options.jwksMaxAgeMs !== undefined && { cacheMaxAge: options.jwksMaxAgeMs }),
    });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        const tokens = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported];
        if (tokens.some((kind) => error instanceof kind)) throw error;
        throw new KeySetUnavailable((error as Error).message, { cause: error });
      }
    };
  }
  // One PEM key: imported once per algorithm a token names (an RSA key under an EC alg fails: invalid).
  const pem = config.AUTH_JWT_PUBLIC_KEY!;
  const imported = new Map<string, ReturnType<typeof importSPKI>>();
  return (header) => {
    let key = imported.get(header.alg!);
    if (!key) imported.set(header.alg!, (key = importSPKI(pem, header.alg!)));
    return key;
  };
}

/** The token of `Authorization: Bearer <token>`: 401 MISSING_TOKEN without one, INVALID_TOKEN when it cannot be one. */
function bearerToken(req: Request): string {
  const header = req.get('authorization')?.trim();
  if (!header || !/^Bearer\b/i.test(header)) throw refused('MISSING_TOKEN');
  const match = header.length <= MAX_TOKEN_LENGTH + 7 ? BEARER.exec(header) : null;
  if (!match) throw refused('INVALID_TOKEN');
  return match[1]!;
}

export function jwtIdentify(config: Config, options: JwtOptions = {}): Identify {
  const key = keySource(config, options);
  const verifyOptions: JWTVerifyOptions = {
    issuer: config.AUTH_JWT_ISSUER!,
    audience: config.AUTH_JWT_AUDIENCE!,
    algorithms: [...config.AUTH_JWT_ALGORITHMS],
    clockTolerance: config.AUTH_JWT_CLOCK_TOLERANCE_SECONDS,
    // A token without exp would be valid forever; without sub it names nobody.
    requiredClaims: ['exp', 'sub'],
  };
  const verified = new VerifiedTokens(options.cacheEntries ?? 10_000);

  return async (req) => {
    const token = bearerToken(req);
    const known = verified.get(token);
    if (known !== undefined) return known;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, key, verifyOptions));
    } catch (error) {
      if (error instanceof KeySetUnavailable) throw unavailable(config.RETRY_AFTER_SECONDS, "The identity provider's key set");
      // jose checks the signature before the claims: an expired token here is a genuine one.
      throw refused(error instanceof errors.JWTExpired ? 'TOKEN_EXPIRED' : 'INVALID_TOKEN');
    }
    const userId = canonicalUserId(payload.sub);
    if (userId === undefined) throw refused('INVALID_TOKEN');
    verified.set(token, userId, payload.exp! * 1000);
    return userId;
  };
}
