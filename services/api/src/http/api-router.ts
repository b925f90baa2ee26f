import express, { Router, type Express } from 'express';
import { noSniff } from './response-headers.ts';

/**
 * Every router of the API: paths match exactly, case and trailing slash included, so
 * `/V1/COUPONS` and `/v1/coupons/` are not second names of `/v1/coupons` (404 instead). One
 * spelling per resource keeps caches, logs, metrics and the Ingress's path rules honest.
 */
export const apiRouter = (): Router => Router({ caseSensitive: true, strict: true });

/**
 * Every express app of the API (the public one and the operations port's): no framework banner,
 * no ETags (answers change by the millisecond), the routers' strict matching at the app level
 * too, and nosniff on every answer.
 */
export function apiExpress(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(noSniff);
  return app;
}
