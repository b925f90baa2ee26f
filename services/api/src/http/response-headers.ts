import type { RequestHandler } from 'express';

/** Every answer: browsers must not guess a type other than the one we send. */
export const noSniff: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

/** The routes whose answer depends on the caller (matched on the raw path: no parameter is decoded here). */
const PER_USER = /^\/v1\/(tickets\/|me\/|coupons\/[^/]+\/issue-requests$)/;

/**
 * An answer that depends on who asks (a ticket, a wallet, an admission): never stored by a
 * shared cache or the browser, and keyed on the identity headers should anything cache it anyway.
 */
export const privateResponse: RequestHandler = (req, res, next) => {
  if (PER_USER.test(req.path)) {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Vary', 'Authorization, X-User-Id');
  }
  next();
};

/**
 * The dashboard's Content-Security-Policy (services/api/src/dashboard): scripts, styles and
 * connections (fetch, EventSource) only from this origin, no inline script or style, no plugin,
 * no framing (clickjacking of the pause and close buttons), forms post only here.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Every answer of the dashboard: its CSP, no framing (older browsers too), no referrer to other sites, nosniff (apiExpress sets it on every answer too). */
export const dashboardHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
  res.setHeader('X-Frame-Options', 'deny'); // case-insensitive
  // same-origin, not no-referrer: with no-referrer a browser's form post says `Origin: null`, and
  // the sign-in's same-origin check (dashboard-sessions.ts) could not tell it from another site's.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};
