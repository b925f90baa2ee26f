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
