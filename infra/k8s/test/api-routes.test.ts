// The manifests against the API itself: the probe paths answer on the real operations app, the
// probes and Prometheus reach the operations port (OPS_PORT), the Service only the public one
// (PORT), and the Ingress exposes exactly the public routes, asked from the app's express router
// rather than written down twice.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ApiApp } from '@coupons/api/app';
import { loadConfig } from '@coupons/shared/config';
import { openIssueQueues, type IssueQueues } from '@coupons/shared/queue';
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

/** Paths that stay inside the cluster: kubelet probes (served on both ports) and Prometheus (operations port only). */
const INTERNAL = ['/healthz', '/readyz', '/metrics'];

const rendered = await renderOverlays();

// The app is built only where the overlays render.
describe.skipIf(SKIP_RENDERING)('the API behind the manifests', () => {
  let environment: TestEnvironment;
  let queueConnection: Redis;
  let queues: IssueQueues;
  let api: ApiApp;
  let server: Server;
  let opsServer: Server;
  let opsUrl: string;

  beforeAll(async () => {
    environment = await createTestEnvironment();
    queueConnection = environment.redis.duplicate();
    queues = openIssueQueues(queueConnection, environment.config.REDIS_PREFIX, environment.config.QUEUE_SHARDS);
    const log = createLogger('k8s-test');
    log.level = 'warn';
    api = await createApp({ config: environment.config, log, redis: environment.redis, queues, db: environment.db });
    server = api.app.listen(0, '127.0.0.1');
    opsServer = api.ops.listen(0, '127.0.0.1');
    await Promise.all([server, opsServer].map((listener) => new Promise<void>((resolve) => listener.once('listening', () => resolve()))));
    opsUrl = `http://127.0.0.1:${(opsServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const listener of [server, opsServer]) await new Promise<void>((resolve) => (listener ? listener.close(() => resolve()) : resolve()));
    api?.catalog.stop();
    await queues?.close();
    queueConnection?.disconnect();
    await environment?.cleanup();
  });

  describe.each(OVERLAYS)('%s', (overlay) => {
    const objects = rendered[overlay];

    it('probes and scrapes paths the operations app answers 200 on, on the operations port; the Service reaches only the public one', async () => {
      const deployment = find(objects, 'Deployment', 'coupons-api');
      const container = containerOf(deployment, 'api');
      const config = loadConfig(containerEnvironment(objects, container));
      const portNamed = (port: string | number) => container.ports!.find((candidate) => candidate.name === port || candidate.containerPort === port);
      expect(container.ports!.map(({ name, containerPort }) => [name, containerPort])).toEqual([
        ['http', config.PORT],
        ['ops', config.OPS_PORT],
      ]);
      const probes = { livenessProbe: '/healthz', readinessProbe: '/readyz', startupProbe: '/healthz' } as const;
      const ops = servedPaths(api.ops).routes;
      for (const [probe, expectedPath] of Object.entries(probes)) {
        const { path, port } = (container as any)[probe].httpGet;
        expect(path, probe).toBe(expectedPath);
        expect(ops, probe).toContain(path);
        const response = await fetch(`${opsUrl}${path}`);
        expect(response.status, `${probe} ${path}`).toBe(200);
        expect(portNamed(port)?.containerPort, probe).toBe(config.OPS_PORT);
      }
      const service = find(objects, 'Service', 'coupons-api');
      for (const port of (service.spec as any).ports) expect(portNamed(port.targetPort)?.containerPort).toBe(config.PORT);
      const annotations = (deployment.spec as any).template.metadata.annotations;
      expect(Number(annotations['prometheus.io/port'])).toBe(config.OPS_PORT);
      expect(ops).toContain(annotations['prometheus.io/path']);
      expect((await fetch(`${opsUrl}${annotations['prometheus.io/path']}`)).status).toBe(200);
      expect(servedPaths(api.app).routes, 'the public app serves no metrics').not.toContain(annotations['prometheus.io/path']);
    });

    it.skipIf(overlay !== 'production')('admits the operations port only from inside the cluster', () => {
      const deployment = find(objects, 'Deployment', 'coupons-api');
      const labels = (deployment.spec as any).template.metadata.labels;
      const policies = objects.filter((object) => object.kind === 'NetworkPolicy' && Object.entries((object.spec as any).podSelector.matchLabels).every(([key, value]) => labels[key] === value));
      const rules = policies.flatMap((policy) => (policy.spec as any).ingress as { from?: any[]; ports?: { port: string | number }[] }[]);
      const admitting = (port: string) => rules.filter((rule) => !rule.ports || rule.ports.some((candidate) => candidate.port === port));
      expect(admitting('http').length).toBeGreaterThan(0);
      expect(admitting('ops').length).toBeGreaterThan(0);
      for (const rule of admitting('ops')) {
        // Only pods (of any namespace): no rule open to any source, no address block.
        expect(rule.from?.length, 'a source list').toBeGreaterThan(0);
        for (const peer of rule.from!) expect(peer.ipBlock, 'no address block').toBeUndefined();
      }
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
