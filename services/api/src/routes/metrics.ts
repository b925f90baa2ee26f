import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import type { ApiMetrics } from '../metrics/metrics.ts';

export function metricsRouter(metrics: ApiMetrics): Router {
  const router = apiRouter();
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
