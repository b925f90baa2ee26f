// The one way a route learns who the caller is, whatever AUTH_MODE says (http/identity.ts hands
// it to the routes). Each mode is its own file.
import type { Request } from 'express';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import { gatewayIdentify } from './gateway.ts';
import { jwtIdentify, type JwtOptions } from './jwt.ts';
import { identifyByHeader } from './trusted-header.ts';

/** The caller's user id (a lower-case UUID), or an HttpError (401, 400, or 503 when the identity provider cannot be reached). */
export type Identify = (req: Request) => string | Promise<string>;

export interface IdentifyOptions {
  /** The process's NODE_ENV (default: process.env.NODE_ENV): `production` with trusted-header logs a warning. */
  nodeEnv?: string | undefined;
  jwt?: JwtOptions;
}

/** The identification AUTH_MODE asks for, built once at start. */
export function createIdentify(config: Config, log: Logger, options: IdentifyOptions = {}): Identify {
  const nodeEnv = 'nodeEnv' in options ? options.nodeEnv : process.env.NODE_ENV;
  switch (config.AUTH_MODE) {
    case 'jwt':
      return jwtIdentify(config, options.jwt);
    case 'gateway':
      return gatewayIdentify(config);
    case 'trusted-header':
      if (nodeEnv === 'production') {
        log.warn(
          { authMode: config.AUTH_MODE },
          'AUTH_MODE=trusted-header in production: X-User-Id is believed as sent, so any client that reaches the API can act as any user. Use AUTH_MODE=jwt or gateway (README, Identity).',
        );
      }
      return identifyByHeader;
  }
}
