// What each AUTH_MODE reads from a request and may answer: the OpenAPI document's security
// schemes and identity problems are generated from this one list.
import type { AuthMode } from '@coupons/shared/config';
import type { ProblemCode } from '../errors/problem-catalog.ts';

/** A type, not an interface: assignable to OpenAPI's scheme object with its `x-…` index signature. */
type SecurityScheme = {
  type: 'http' | 'apiKey';
  description: string;
  scheme?: 'bearer';
  bearerFormat?: 'JWT';
  in?: 'header';
  name?: string;
};

export interface IdentityMode {
  /** Every scheme is needed together (one OpenAPI security requirement). */
  schemes: Record<string, SecurityScheme>;
  /** What identification can answer in this mode. */
  problems: readonly ProblemCode[];
}

const userIdHeader = (description: string): SecurityScheme => ({ type: 'apiKey', in: 'header', name: 'X-User-Id', description });

export const IDENTITY_MODES: Record<AuthMode, IdentityMode> = {
  jwt: {
    schemes: {
      bearerJwt: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'AUTH_MODE=jwt: a JWT from the identity provider, verified (signature, exp, nbf, iss, aud); the caller is its `sub`, which must be a UUID (not the nil or max one).',
      },
    },
    problems: ['MISSING_TOKEN', 'INVALID_TOKEN', 'TOKEN_EXPIRED', 'UNAVAILABLE'],
  },
  gateway: {
    schemes: {
      gatewayUserId: userIdHeader('AUTH_MODE=gateway: the caller, as the gateway set it; believed only with the two headers below, or from a trusted proxy address.'),
      gatewayTimestamp: { type: 'apiKey', in: 'header', name: 'X-Gateway-Timestamp', description: 'AUTH_MODE=gateway: Unix seconds when the gateway signed.' },
      gatewaySignature: {
        type: 'apiKey',
        in: 'header',
        name: 'X-Gateway-Signature',
        description: 'AUTH_MODE=gateway: lower-case hex HMAC-SHA256 (AUTH_GATEWAY_SECRET) of `<X-Gateway-Timestamp>.<X-User-Id>`.',
      },
    },
    problems: ['MISSING_USER_ID', 'UNVERIFIED_USER_ID', 'INVALID_USER_ID'],
  },
  'trusted-header': {
    schemes: { trustedUserId: userIdHeader('AUTH_MODE=trusted-header (development and tests): the caller, believed as sent.') },
    problems: ['MISSING_USER_ID', 'INVALID_USER_ID'],
  },
};

