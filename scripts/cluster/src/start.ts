// `pnpm start`: migrate + seed, then one API (on PORT) and one worker, with the URLs printed.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { serve } from './serve.ts';

await serve({
  tool: 'start',
  apis: 1,
  workers: 1,
  front: 'direct',
  banner(cluster, _config, servers) {
    const base = `http://localhost:${cluster.port}`;
    return [
      `Coupon event backend running`,
      `API      ${base}`,
      `Docs     ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `Metrics  http://localhost:${cluster.opsPorts[0]}/metrics   (the operations port: metrics and probes)`,
      `Try      curl -i -X POST ${base}/v1/coupons/A0001/issue-requests -H "X-User-Id: $(cat /proc/sys/kernel/random/uuid)"`,
      ...servers,
      `Stop     Ctrl-C`,
    ];
  },
});
