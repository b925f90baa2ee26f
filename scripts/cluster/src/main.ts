// `pnpm cluster --api 2 --workers 4`: migrate + seed, then N API processes behind one port and M
// worker processes, with where it listens printed. Ctrl-C (or SIGTERM) stops them gracefully.
import { parseCommandLine } from '@coupons/harness/cli';
import { parseClusterArgs, USAGE } from './cli-args.ts';
import { serve } from './serve.ts';

const { apis, workers } = parseCommandLine({ tool: 'cluster', usage: USAGE, parse: parseClusterArgs, usageOnError: true });

await serve({
  tool: 'cluster',
  apis,
  workers,
  front: 'balanced',
  banner(cluster, _config, servers) {
    const base = `http://localhost:${cluster.port}`;
    const processes = cluster.replicas.map((replica, i) => `${replica.name} (pid ${replica.pid}${replica.kind === 'api' ? `, port ${cluster.apiPorts[i]}, ops port ${cluster.opsPorts[i]}` : ''})`);
    return [
      `Cluster listening on ${base} (docs: ${base}/docs)`,
      `${apis} API process${apis === 1 ? '' : 'es'} behind that port, ${workers} worker process${workers === 1 ? '' : 'es'}:`,
      processes.join(', '),
      ...servers,
      `Stop     Ctrl-C`,
    ];
  },
});
