// The operations listener's app (OPS_PORT): /metrics, the probes, the admin API and the dashboard. Never behind the Ingress and
// never under the public listener's connection cap, so a flood of the public port cannot make a
// healthy pod unready, and Prometheus still scrapes it (DESIGN.md, "Operating an event").
import type { Express, Router } from 'express';
import type { Logger } from 'pino';
import { notFoundHandler, problemMiddleware } from './errors/problem-middleware.ts';
import { apiExpress } from './http/api-router.ts';
import type { ApiMetrics } from './metrics/metrics.ts';
import { metricsRouter } from './routes/metrics.ts';

export interface OpsAppDeps {
  log: Logger;
  retryAfterSeconds: number;
  metrics: ApiMetrics;
  /** /healthz and /readyz, over the readiness's own Postgres and Redis connections. */
  health: Router;
  /** The admin API (/admin/v1/…, services/api/src/admin/); absent when no ADMIN_TOKEN is configured. */
  admin?: Router | undefined;
  /** The live dashboard (/dashboard, services/api/src/dashboard/). */
  dashboard?: Router | undefined;
}

export function createOpsApp({ log, retryAfterSeconds, metrics, health, admin, dashboard }: OpsAppDeps): Express {
  const ops = apiExpress();
  ops.use(health);
  ops.use(metricsRouter(metrics));
  if (admin) ops.use(admin);
  if (dashboard) ops.use(dashboard);
  ops.use(notFoundHandler());
  ops.use(problemMiddleware(log, retryAfterSeconds));
  return ops;
}
