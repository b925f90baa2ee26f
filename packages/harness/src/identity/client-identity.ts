// How the tools and the process tests say who they are, in the API's AUTH_MODE: X-User-Id as is
// (trusted-header), a bearer JWT minted with a key made for the run (jwt), or X-User-Id signed
// with a secret made for the run (gateway). The cluster is started with `serverEnv`, so the API
// checks exactly what this client sends: the load exercises the real mode.
import { randomBytes } from 'node:crypto';
import type { AuthMode } from '@coupons/shared/config';
import { gatewayHeaders } from '@coupons/shared/auth';
import { TokenIssuer } from './token-issuer.ts';

export interface ClientIdentity {
  readonly mode: AuthMode;
  /** Variables the API processes need to accept what this client sends (none for trusted-header). */
  readonly serverEnv: Readonly<Record<string, string>>;
  /**
   * Mints the tokens of these users ahead of a load (jwt; a no-op otherwise). autocannon asks for
   * headers synchronously, and a signature is work the load generator should not do mid-load.
   */
  prepare(userIds: Iterable<string>): Promise<void>;
  /** The headers that say "I am `userId`"; in jwt mode the user must have been prepared. */
  headers(userId: string): Record<string, string>;
  /** The same, minting the user's token first if need be. */
  authHeaders(userId: string): Promise<Record<string, string>>;
}

/** X-User-Id as the API's default mode (trusted-header) believes it. */
export const trustedHeaderIdentity: ClientIdentity = {
  mode: 'trusted-header',
  serverEnv: {},
  prepare: async () => {},
  headers: (userId) => ({ 'x-user-id': userId }),
  authHeaders: async (userId) => ({ 'x-user-id': userId }),
};

/** A token per user, minted once: prepare() before a load, then headers() at no cost. */
function jwtIdentity(issuer: TokenIssuer): ClientIdentity {
  const tokens = new Map<string, string>();
  const prepare = async (userIds: Iterable<string>) => {
    const missing = [...new Set(userIds)].filter((userId) => !tokens.has(userId));
    // In slices: a few hundred signatures in flight keep both cores busy without a huge promise array.
    for (let start = 0; start < missing.length; start += 256) {
      const slice = missing.slice(start, start + 256);
      const minted = await Promise.all(slice.map((userId) => issuer.mint(userId, { expiresInSeconds: 6 * 3_600 })));
      slice.forEach((userId, i) => tokens.set(userId, minted[i]!));
    }
  };
  const headers = (userId: string) => {
    const token = tokens.get(userId);
    if (token === undefined) throw new Error(`no token minted for ${userId}: call prepare() with it first`);
    return { authorization: `Bearer ${token}` };
  };
  return {
    mode: 'jwt',
    serverEnv: issuer.serverEnv(),
    prepare,
    headers,
    authHeaders: async (userId) => {
      await prepare([userId]);
      return headers(userId);
    },
  };
}

/** X-User-Id with a fresh HMAC signature on every request. */
function gatewayIdentity(secret: string): ClientIdentity {
  const headers = (userId: string) => gatewayHeaders(secret, userId);
  return { mode: 'gateway', serverEnv: { AUTH_MODE: 'gateway', AUTH_GATEWAY_SECRET: secret }, prepare: async () => {}, headers, authHeaders: async (userId) => headers(userId) };
}

/** A client identity for `mode`, with a key or secret of its own (made now, for this run). */
export async function createClientIdentity(mode: AuthMode): Promise<ClientIdentity> {
  if (mode === 'jwt') return jwtIdentity(await TokenIssuer.create());
  if (mode === 'gateway') return gatewayIdentity(randomBytes(32).toString('hex'));
  return trustedHeaderIdentity;
}
