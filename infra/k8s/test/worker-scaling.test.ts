// The worker ScaledObject follows the sharded queue (issue 14): one KEDA trigger per shard of
// QUEUE_SHARDS (as the worker's own environment sets it), each on that shard's wait list, through
// the single Redis's Service or the Redis Cluster's nodes, with the worker's password.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@coupons/shared/config';
import { queueWaitListKey } from '@coupons/shared/redis';
import { containerEnvironment, containerOf, find, type K8sObject } from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlay } from './support/render.ts';

const [production, minikube, productionCluster] = await Promise.all([renderOverlay('production'), renderOverlay('minikube'), renderOverlay('production-cluster')]);

/** What the rendered ScaledObject gets wrong about the worker's queue shards (empty: in step). */
function scalingMismatches(objects: K8sObject[]): string[] {
  const spec = find(objects, 'ScaledObject', 'coupons-worker').spec as any;
  const env = containerEnvironment(objects, containerOf(find(objects, 'Deployment', spec.scaleTargetRef.name), 'worker'));
  const config = loadConfig(env);
  const shards = config.QUEUE_SHARDS;
  const triggers: { type: string; metadata: Record<string, string> }[] = spec.triggers;
  const problems: string[] = [];
  if (triggers.length !== shards) problems.push(`${triggers.length} triggers for QUEUE_SHARDS=${shards}`);
  triggers.forEach((trigger, shard) => {
    const expected = queueWaitListKey(config.REDIS_PREFIX, shard, shards);
    if (trigger.metadata.listName !== expected) problems.push(`trigger ${shard} reads ${trigger.metadata.listName}, not ${expected}`);
    if (config.REDIS_CLUSTER_NODES) {
      if (trigger.type !== 'redis-cluster') problems.push(`trigger ${shard} is ${trigger.type}, not redis-cluster`);
      const nodes = config.REDIS_CLUSTER_NODES.map(({ host, port }) => `${host}:${port}`).join(',');
      if (trigger.metadata.addresses !== nodes) problems.push(`trigger ${shard} reads ${trigger.metadata.addresses}, not REDIS_CLUSTER_NODES`);
    } else {
      const service = find(objects, 'Service', 'redis');
      const address = `${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${(service.spec as any).ports[0].port}`;
      if (trigger.type !== 'redis' || trigger.metadata.address !== address) problems.push(`trigger ${shard} is ${trigger.type} at ${trigger.metadata.address}, not redis at ${address}`);
    }
    if (env[trigger.metadata.passwordFromEnv!] !== new URL(config.REDIS_URL).password) problems.push(`trigger ${shard}: passwordFromEnv is not the worker's Redis password`);
    // Every worker consumes every shard and KEDA scales to the largest trigger's demand: 1000/N each.
    if (Number(trigger.metadata.listLength) !== Math.round(1000 / shards)) problems.push(`trigger ${shard}: listLength ${trigger.metadata.listLength}, not ${Math.round(1000 / shards)}`);
  });
  return problems;
}

describe.skipIf(SKIP_RENDERING)('the worker ScaledObject: one trigger per queue shard', () => {
  it.each([
    ['production', production, 1],
    ['minikube', minikube, 1],
    ['production-cluster', productionCluster, 3],
  ] as const)('%s: QUEUE_SHARDS=%s, a trigger on each shard\'s wait list', (_name, objects, shards) => {
    expect(scalingMismatches(objects)).toEqual([]);
    expect((find(objects, 'ScaledObject', 'coupons-worker').spec as any).triggers).toHaveLength(shards);
  });

  it('notices a QUEUE_SHARDS the triggers were not changed for', () => {
    const changed = structuredClone(productionCluster);
    const configMap = changed.find((object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith('coupons-config'))!;
    (configMap.data as Record<string, string>).QUEUE_SHARDS = '4';
    expect(scalingMismatches(changed)).toEqual(expect.arrayContaining(['3 triggers for QUEUE_SHARDS=4', 'trigger 0: listLength 333, not 250']));
  });
});
