import { Router } from 'express';

/**
 * Every router of the API: paths match exactly, case and trailing slash included, so
 * `/V1/COUPONS` and `/v1/coupons/` are not second names of `/v1/coupons` (404 instead). One
 * spelling per resource keeps caches, logs, metrics and the Ingress's path rules honest.
 */
export const apiRouter = (): Router => Router({ caseSensitive: true, strict: true });
