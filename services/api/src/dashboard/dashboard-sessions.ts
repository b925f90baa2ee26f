// The dashboard's browser sessions: an operator exchanges an admin token once (POST
// /dashboard/session, in the body) for an HttpOnly, SameSite=Strict cookie, so the token never
// sits in a URL, a history or a log, and the page's buttons call the admin API with the cookie and
// a CSRF token in a header.
//
// Why a signed cookie rather than a session table: a session must work on every replica behind
// the balancer. The cookie carries its own expiry and the id of the token it was made from, and is
// signed with a key derived (HKDF) from that admin token, so any replica configured with the same
// ADMIN_TOKEN verifies it in memory: no Redis round trip on each admin call (identify() is
// synchronous), nothing to lose when Redis is away, and removing a token from ADMIN_TOKEN (a
// rotation) ends every session made from it at once. Sign-out clears the cookies; a copied cookie
// would still be valid until it expires (SESSION_TTL_MS), which the short lifetime bounds.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { parse as parseCookies } from 'cookie';
import { adminTokenId, type AdminIdentity } from '../admin/admin-tokens.ts';
import type { AdminSessions } from '../admin/admin-auth.ts';
import { HttpError } from '../errors/http-error.ts';

/** The session cookie: HttpOnly, the page's scripts never see it. */
export const SESSION_COOKIE = 'coupons_dashboard';
/** The header the page sends its CSRF token in on every unsafe request. */
export const CSRF_HEADER = 'x-csrf-token';
/** How long a sign-in lasts. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** What the signed cookie says. */
interface SessionClaims {
  /** The token's non-secret id (admin-tokens.ts), which picks the verification key. */
  tid: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  /** Random per sign-in: the CSRF token is derived from it. */
  sid: string;
}

export interface DashboardSession extends AdminIdentity {
  expiresAt: number;
  /** The session's CSRF token: the page sends it back in X-CSRF-Token. */
  csrfToken: string;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** Unsafe methods need the CSRF token; GET and HEAD change nothing. */
const changesState = (method: string): boolean => !['GET', 'HEAD'].includes(method.toUpperCase());

/**
 * Signs and verifies the dashboard's sessions for the configured admin tokens, and is the
 * `AdminSessions` that requireAdmin (admin/admin-auth.ts) asks when a call has no Authorization
 * header: a valid session cookie identifies the caller, and an unsafe call must also carry the
 * session's CSRF token and come from the page's own origin, or it is refused (403 CSRF_REJECTED).
 */
export class DashboardSessions implements AdminSessions {
  /** tokenId → the signing key derived from that token. */
  readonly #keys: Map<string, Buffer>;
  readonly #now: () => number;

  constructor(tokens: readonly string[], now: () => number = Date.now) {
    this.#keys = new Map(tokens.map((token) => [adminTokenId(token), Buffer.from(hkdfSync('sha256', token, 'coupons-dashboard', 'session-signing-v1', 32))]));
    this.#now = now;
  }

  /** A new session for a verified token: the cookie value, and the session it stands for. */
  create(identity: AdminIdentity): { cookie: string; session: DashboardSession } {
    const key = this.#keys.get(identity.tokenId);
    if (!key) throw new Error('DashboardSessions.create: not a configured token');
    const claims: SessionClaims = { tid: identity.tokenId, exp: this.#now() + SESSION_TTL_MS, sid: randomBytes(16).toString('base64url') };
    const payload = b64url(JSON.stringify(claims));
    const cookie = `${payload}.${b64url(sign(key, `session.${payload}`))}`;
    return { cookie, session: this.#session(key, claims) };
  }

  /** The session a request's cookie proves, or undefined (none, forged, expired, or its token was removed). */
  read(req: Request): DashboardSession | undefined {
    const value = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
    if (!value) return undefined;
    const [payload, signature, extra] = value.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SessionClaims;
    } catch {
      return undefined;
    }
    const key = typeof claims.tid === 'string' ? this.#keys.get(claims.tid) : undefined;
    if (!key || !equal(Buffer.from(signature, 'base64url'), sign(key, `session.${payload}`))) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp <= this.#now() || typeof claims.sid !== 'string') return undefined;
    return this.#session(key, claims);
  }

  /**
   * AdminSessions: the caller of an admin route as its session proves it. A safe method needs
   * only the cookie; an unsafe one also the CSRF token in X-CSRF-Token and, when the browser says
   * where the request came from (Origin), this origin: otherwise 403 CSRF_REJECTED, thrown so
   * requireAdmin's caller answers it.
   */
  identify(req: Request): AdminIdentity | undefined {
    const session = this.read(req);
    if (!session) return undefined;
    if (changesState(req.method)) this.requireCsrf(req, session);
    return { tokenId: session.tokenId };
  }

  /** Throws 403 CSRF_REJECTED unless the request carries the session's CSRF token and comes from this origin. */
  requireCsrf(req: Request, session: DashboardSession): void {
    requireSameOrigin(req);
    const presented = req.headers[CSRF_HEADER];
    if (typeof presented !== 'string' || !equal(Buffer.from(presented), Buffer.from(session.csrfToken))) {
      throw new HttpError('CSRF_REJECTED', `An unsafe request with a dashboard session needs the session's ${CSRF_HEADER} header.`);
    }
  }

  /** Sets the session cookie: HttpOnly, SameSite=Strict, Path=/, Secure when the page came over https. */
  setCookie(req: Request, res: Response, cookie: string, session: DashboardSession): void {
    res.cookie(SESSION_COOKIE, cookie, { ...cookieFlags(req), expires: new Date(session.expiresAt) });
  }

  clearCookie(req: Request, res: Response): void {
    res.clearCookie(SESSION_COOKIE, cookieFlags(req));
  }

  #session(key: Buffer, claims: SessionClaims): DashboardSession {
    // Synchronizer token bound to the session: derived from its random id with the signing key, so
    // only this server can make it and only a page that read it from GET /dashboard/session has it.
    const csrfToken = b64url(sign(key, `csrf.${claims.sid}`));
    return { tokenId: claims.tid, expiresAt: claims.exp, csrfToken };
  }
}

/**
 * A browser names the page a request came from in Origin on every unsafe request; another site's
 * page is refused even before the CSRF token is looked at. (No Origin: not a browser's cross-site
 * request; the CSRF token still decides.)
 */
export function requireSameOrigin(req: Request): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const host = req.headers.host;
  let sameHost = false;
  try {
    sameHost = host !== undefined && new URL(origin).host === host;
  } catch {
    sameHost = false;
  }
  if (!sameHost) throw new HttpError('CSRF_REJECTED', 'The request came from another origin.');
}

/** The page came over https: directly, or through a TLS-terminating proxy or port-forward that says so. */
function overHttps(req: Request): boolean {
  return req.secure || String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
}

function cookieFlags(req: Request): { httpOnly: true; sameSite: 'strict'; path: '/'; secure: boolean } {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: overHttps(req) };
}

function sign(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
