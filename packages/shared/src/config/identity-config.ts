// Identity (issue 11): how the API learns who the caller is. The variables, their forms and the
// rules between them; services/api/src/auth/ does the checking per request.
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * `jwt`: the `sub` of a verified `Authorization: Bearer` JWT. `gateway`: `X-User-Id` with a
 * gateway's HMAC proof, or from a trusted proxy address. `trusted-header`: `X-User-Id` as sent
 * (development and tests only: anyone can claim anyone).
 */
export const AUTH_MODES = ['jwt', 'gateway', 'trusted-header'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/**
 * Signature algorithms a JWT may use. Only asymmetric ones: the API holds public keys, never a
 * secret that could also mint tokens. `none` and the HS* family are never accepted.
 */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const PEM_PUBLIC_KEY = /-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/;

/** PEM text (real newlines or `\n` escapes, as env files write them), or the path of a file holding it. */
function readPublicKey(value: string, ctx: z.RefinementCtx): string {
  let pem = value.replaceAll('\\n', '\n');
  if (!pem.includes('-----BEGIN')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `neither PEM text nor a readable file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return z.NEVER;
    }
  }
  const match = PEM_PUBLIC_KEY.exec(pem);
  try {
    if (!match) throw new Error('no -----BEGIN PUBLIC KEY----- block');
    createPublicKey(match[0]);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not an SPKI public key in PEM form (${(error as Error).message})` });
    return z.NEVER;
  }
  return match[0];
}

/** `a.b.c.d`, `a.b.c.d/n`, `::1`, `fd00::/8`, …: each a valid address and prefix length. */
function parseProxies(list: string, ctx: z.RefinementCtx): string[] {
  return list.split(',').map((raw) => {
    const entry = raw.trim();
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)` });
    }
    return entry;
  });
}

/** The identity variables, spread into the config schema's fields. */
export const identityFields = {
  AUTH_MODE: z.enum(AUTH_MODES).default('trusted-header'),
  /** jwt: the identity provider's JSON Web Key Set; fetched when needed, cached, refetched for an unknown `kid` (key rotation). */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** jwt: one SPKI public key in PEM form (or the path of a file holding it), instead of a JWKS. */
  AUTH_JWT_PUBLIC_KEY: z.string().transform(readPublicKey).optional(),
  /** jwt: the `iss` every token must carry. */
  AUTH_JWT_ISSUER: z.string().max(512).optional(),
  /** jwt: the `aud` every token must carry (the token may list others too). */
  AUTH_JWT_AUDIENCE: z.string().max(512).optional(),
  /** jwt: signature algorithms accepted, comma-separated. */
  AUTH_JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((list, ctx) =>
      list.split(',').map((raw) => {
        const alg = raw.trim();
        if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(alg)} is not one of ${JWT_ALGORITHMS.join(', ')}` });
        return alg as JwtAlgorithm;
      }),
    ),
  /** jwt: seconds of clock difference allowed on `exp` and `nbf`. */
  AUTH_JWT_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** gateway: the secret the gateway signs `<timestamp>.<user id>` with (HMAC-SHA256). */
  AUTH_GATEWAY_SECRET: z.string().min(32, 'a secret of at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  /** gateway: how far the signature's timestamp may be from the API's clock, either way. */
  AUTH_GATEWAY_MAX_SKEW_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** gateway: addresses or CIDRs (the TCP peer, never X-Forwarded-For) whose X-User-Id is trusted without a signature. */
  AUTH_TRUSTED_PROXIES: z.string().transform(parseProxies).optional(),
};

type IdentityConfig = z.output<z.ZodObject<typeof identityFields>>;

/** The rules between the identity variables: what each mode needs. */
export function checkIdentity(config: IdentityConfig, ctx: z.RefinementCtx): void {
  const issue = (path: keyof IdentityConfig, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (config.AUTH_MODE === 'jwt') {
    if (!config.AUTH_JWT_ISSUER) issue('AUTH_JWT_ISSUER', 'required with AUTH_MODE=jwt (the iss your identity provider puts in its tokens)');
    if (!config.AUTH_JWT_AUDIENCE) issue('AUTH_JWT_AUDIENCE', 'required with AUTH_MODE=jwt (the aud your identity provider puts in tokens for this API)');
    if (!config.AUTH_JWKS_URL && !config.AUTH_JWT_PUBLIC_KEY) issue('AUTH_JWKS_URL', 'AUTH_MODE=jwt needs AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY');
    if (config.AUTH_JWKS_URL && config.AUTH_JWT_PUBLIC_KEY) issue('AUTH_JWT_PUBLIC_KEY', 'give AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY, not both');
  }
  if (config.AUTH_JWKS_URL) {
    const url = new URL(config.AUTH_JWKS_URL);
    if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) issue('AUTH_JWKS_URL', 'must be https (http only for localhost): the keys decide who anyone is');
  }
  if (config.AUTH_MODE === 'gateway' && !config.AUTH_GATEWAY_SECRET && !config.AUTH_TRUSTED_PROXIES) {
    issue('AUTH_GATEWAY_SECRET', 'AUTH_MODE=gateway needs AUTH_GATEWAY_SECRET or AUTH_TRUSTED_PROXIES (or both)');
  }
}
