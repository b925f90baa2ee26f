// The operations listener's app (OPS_PORT): /metrics and the probes. Never behind the Ingress and
// never under the public listener's connection cap, so a flood of the public port cannot make a
// healthy pod unready, and Prometheus still scrapes it (DESIGN.md, "Operating an event").
import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { notFoundHandler, problemMiddleware } from './errors/problem-middleware.ts';
import { noSniff } from './http/response-headers.ts';
import type { ApiMetrics } from './metrics/metrics.ts';
import { metricsRouter } from './routes/metrics.ts';

export interface OpsAppDeps {
  log: Logger;
  retryAfterSeconds: number;
  metrics: ApiMetrics;
  /** /healthz and /readyz, over the readiness's own Postgres and Redis connections. */
  health: Router;
}

export function createOpsApp({ log, retryAfterSeconds, metrics, health }: OpsAppDeps): Express {
  const ops = express();
  ops.disable('x-powered-by');
  ops.set('etag', false);
  ops.set('case sensitive routing', true);
  ops.set('strict routing', true);
  ops.use(noSniff);
  ops.use(health);
  ops.use(metricsRouter(metrics));
  ops.use(notFoundHandler());
  ops.use(problemMiddleware(log, retryAfterSeconds));
  return ops;
}
