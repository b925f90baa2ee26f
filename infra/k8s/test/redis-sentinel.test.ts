// The redis-sentinel component (infra/k8s/components/redis-sentinel) on both overlays: valid
// objects, and names that agree with each other and with the code (REDIS_SENTINELS points at the
// sentinel pods' stable names, the monitored name is REDIS_SENTINEL_NAME, durable admission on).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@coupons/shared/config';
import { OVERLAYS, containerEnvironment, containerOf, find, podTemplate } from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlays } from './support/render.ts';
import { schemaFailures } from './support/schema.ts';

const rendered = await renderOverlays(['redis-sentinel']);

describe.skipIf(SKIP_RENDERING).each(OVERLAYS)('%s + redis-sentinel', (overlay) => {
  const objects = rendered[overlay];

  it('every object passes its Kubernetes schema with no unknown field', () => {
    expect(schemaFailures(objects)).toEqual([]);
  });

  it('points the API and the worker at the sentinel pods, by the name the sentinels monitor, in durable mode', () => {
    const sentinels = find(objects, 'StatefulSet', 'redis-sentinel');
    const service = find(objects, 'Service', (sentinels.spec as any).serviceName);
    expect((service.spec as any).clusterIP).toBe('None');
    const sentinelPort = (service.spec as any).ports[0].port;
    const script = podTemplate(sentinels).spec.containers[0]!.command!.join('\n');
    for (const [name, container] of [['coupons-api', 'api'], ['coupons-worker', 'worker']] as const) {
      const env = containerEnvironment(objects, containerOf(find(objects, 'Deployment', name), container));
      const config = loadConfig(env);
      expect(config.ADMISSION_DURABILITY).toBe('replica');
      expect(config.REDIS_SENTINEL_PASSWORD, `${name}: the sentinels' password`).toBeTruthy();
      expect(config.REDIS_SENTINELS).toEqual(
        Array.from({ length: (sentinels.spec as any).replicas }, (_, i) => ({ host: `redis-sentinel-${i}.${service.metadata.name}`, port: sentinelPort })),
      );
      expect(script).toContain(`sentinel monitor ${config.REDIS_SENTINEL_NAME} `);
      expect(podTemplate(find(objects, 'StatefulSet', 'redis')).spec.containers[0]!.command!.join('\n')).toContain(`get-master-addr-by-name ${config.REDIS_SENTINEL_NAME}`);
    }
  });

  it('runs a primary and two replicas, and three sentinels with a quorum of two', () => {
    expect((find(objects, 'StatefulSet', 'redis').spec as any).replicas).toBe(3);
    expect((find(objects, 'StatefulSet', 'redis-sentinel').spec as any).replicas).toBe(3);
    const script = podTemplate(find(objects, 'StatefulSet', 'redis-sentinel')).spec.containers[0]!.command!.join('\n');
    expect(script).toMatch(/sentinel monitor \S+ \$primary 6379 2\n/);
    // The base's args are gone (the start script builds them), so nothing runs Redis twice.
    expect(podTemplate(find(objects, 'StatefulSet', 'redis')).spec.containers[0]!.args).toBeUndefined();
  });
});
