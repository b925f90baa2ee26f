import { Router } from 'express';
import type { ApiMetrics } from '../metrics/metrics.ts';

export function metricsRouter(metrics: ApiMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return router;
}
