// Who may call the admin API: an `Authorization: Bearer <ADMIN_TOKEN>`, or (for the dashboard's
// buttons) a signed-in browser session. The routes read the caller from res.locals.admin.
import type { Request, RequestHandler } from 'express';
import { HttpError } from '../errors/http-error.ts';
import type { AdminIdentity, AdminTokens } from './admin-tokens.ts';

/**
 * A browser session signed in with an admin token (the dashboard, services/api/src/dashboard):
 * its session cookie, and a CSRF header on unsafe methods. Undefined: no valid session.
 */
export interface AdminSessions {
  identify(req: Request): AdminIdentity | undefined;
}

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/** The caller as an admin, set by requireAdmin for the handlers after it. */
export function adminOf(locals: Record<string, unknown>): AdminIdentity {
  const admin = locals.admin as AdminIdentity | undefined;
  if (!admin) throw new Error('adminOf: requireAdmin did not run before this handler');
  return admin;
}

/**
 * An Authorization header decides alone: a Bearer token that is one of ADMIN_TOKEN passes, any
 * other value is 401 INVALID_ADMIN_TOKEN (a wrong token never falls back to a cookie). With no
 * Authorization header, a session may identify the caller; otherwise 401 MISSING_ADMIN_TOKEN.
 * Both 401s carry `WWW-Authenticate: Bearer` (RFC 6750).
 */
export function requireAdmin(tokens: AdminTokens, sessions?: AdminSessions): RequestHandler {
  return (req, res, next) => {
    const authorization = req.headers.authorization;
    let admin: AdminIdentity | undefined;
    if (authorization !== undefined) {
      const token = BEARER.exec(authorization)?.[1];
      admin = token === undefined ? undefined : tokens.verify(token);
      if (!admin) {
        next(new HttpError('INVALID_ADMIN_TOKEN', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
        return;
      }
    } else {
      admin = sessions?.identify(req);
      if (!admin) {
        next(new HttpError('MISSING_ADMIN_TOKEN', undefined, { 'WWW-Authenticate': 'Bearer' }));
        return;
      }
    }
    res.locals.admin = admin;
    next();
  };
}
