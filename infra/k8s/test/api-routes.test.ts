// The manifests against the API itself: the probe paths answer on the real app, the probes and
// the Service reach the port the API listens on, and the Ingress exposes exactly the public
// routes, asked from the app's express router rather than written down twice.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ApiApp } from '@coupons/api/app';
import { loadConfig } from '@coupons/shared/config';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { createLogger } from '@coupons/shared/runtime';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';
import { OVERLAYS, containerEnvironment, containerOf, find } from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlays } from './support/render.ts';

/** What the app serves: exact routes, and prefixes where a router or middleware is mounted. */
interface Served {
  routes: string[];
  mounts: string[];
}

function servedPaths(app: ApiApp['app']): Served {
  const served: Served = { routes: [], mounts: [] };
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      const mountedAt = layer.rawPath && layer.rawPath !== '/' ? `${prefix}${layer.rawPath}` : prefix;
      if (layer.route) served.routes.push(`${prefix}${layer.route.path}`);
      else if (layer.handle?.stack) walk(layer.handle.stack, mountedAt);
      else if (mountedAt !== prefix) served.mounts.push(mountedAt);
    }
  };
  walk((app as any).router.stack, '');
  served.mounts = [...new Set(served.mounts)];
  return served;
}

/** Kubernetes Ingress matching: Prefix matches whole path segments, Exact the whole path. */
function ingressMatches(rule: { path: string; pathType: string }, requestPath: string): boolean {
  if (rule.pathType === 'Exact') return requestPath === rule.path;
  const prefix = rule.path.replace(/\/$/, '');
  return requestPath === prefix || requestPath.startsWith(`${prefix}/`);
}

/** Paths that stay inside the cluster: kubelet probes and Prometheus. */
const INTERNAL = ['/healthz', '/readyz', '/metrics'];

const rendered = await renderOverlays();

// The app is built only where the overlays render.
describe.skipIf(SKIP_RENDERING)('the API behind the manifests', () => {
  let environment: TestEnvironment;
  let queueConnection: Redis;
  let queue: Queue;
  let api: ApiApp;
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    environment = await createTestEnvironment();
    queueConnection = environment.redis.duplicate();
    queue = new Queue(ISSUE_QUEUE_NAME, { connection: queueConnection, prefix: queuePrefix(environment.config.REDIS_PREFIX) });
    const log = createLogger('k8s-test');
    log.level = 'warn';
    api = await createApp({ config: environment.config, log, redis: environment.redis, queue, db: environment.db });
    server = api.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    api?.catalog.stop();
    await queue?.close();
    queueConnection?.disconnect();
    await environment?.cleanup();
  });

  describe.each(OVERLAYS)('%s', (overlay) => {
    const objects = rendered[overlay];

    it('probes paths the API answers 200 on, on the port it listens on', async () => {
      const deployment = find(objects, 'Deployment', 'coupons-api');
      const container = containerOf(deployment, 'api');
      const config = loadConfig(containerEnvironment(objects, container));
      const probes = { livenessProbe: '/healthz', readinessProbe: '/readyz', startupProbe: '/healthz' } as const;
      const { routes } = servedPaths(api.app);
      for (const [probe, expectedPath] of Object.entries(probes)) {
        const { path, port } = (container as any)[probe].httpGet;
        expect(path, probe).toBe(expectedPath);
        expect(routes, probe).toContain(path);
        const response = await fetch(`${baseUrl}${path}`);
        expect(response.status, `${probe} ${path}`).toBe(200);
        const containerPort = container.ports!.find((candidate) => candidate.name === port || candidate.containerPort === port)!;
        expect(containerPort.containerPort, probe).toBe(config.PORT);
      }
      const service = find(objects, 'Service', 'coupons-api');
      for (const port of (service.spec as any).ports) {
        const target = container.ports!.find((candidate) => candidate.name === port.targetPort || candidate.containerPort === port.targetPort);
        expect(target?.containerPort).toBe(config.PORT);
      }
      expect(Number((deployment.spec as any).template.metadata.annotations['prometheus.io/port'])).toBe(config.PORT);
      expect(routes).toContain((deployment.spec as any).template.metadata.annotations['prometheus.io/path']);
    });

    it('exposes every public route through the Ingress, and nothing else', () => {
      const ingress = find(objects, 'Ingress', 'coupons-api');
      const rules = (ingress.spec as any).rules.flatMap((rule: any) => rule.http.paths) as { path: string; pathType: string }[];
      const { routes, mounts } = servedPaths(api.app);
      // Parameters become sample values so that matching treats them as one path segment.
      const served = [...routes.map((route) => route.replace(/:\w+/g, 'x')), ...mounts];
      expect(served.length).toBeGreaterThan(INTERNAL.length);
      for (const path of served) {
        const exposed = rules.some((rule) => ingressMatches(rule, path));
        expect(exposed, `${path} ${INTERNAL.includes(path) ? 'is internal but exposed' : 'is not exposed'}`).toBe(!INTERNAL.includes(path));
      }
      for (const rule of rules) {
        expect(served.some((path) => ingressMatches(rule, path)), `Ingress path ${rule.path} reaches no route`).toBe(true);
      }
    });
  });
});
