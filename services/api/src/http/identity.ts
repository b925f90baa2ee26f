// The routes' one entry to the caller's identity. createApp installs the AUTH_MODE's
// identification in front of the routes (auth/identify.ts); a route that needs the caller asks
// `await identify(req)`. Routes that do not (the coupon list, the docs) never pay for it.
import type { Request, RequestHandler } from 'express';
import { createIdentify, type Identify } from '../auth/identify.ts';

const installed = new WeakMap<Request, Identify>();

/** Middleware: the requests after it are identified by `how`. */
export function installIdentity(how: Identify): RequestHandler {
  return (req, _res, next) => {
    installed.set(req, how);
    next();
  };
}

/** Who sent `req`: a lower-case user id, or the HttpError of the configured mode (401, 400, 503). */
export async function identify(req: Request): Promise<string> {
  const how = installed.get(req);
  if (!how) throw new Error('identify(req) called on a route that installIdentity() does not precede');
  return how(req);
}

export { createIdentify, type Identify };
