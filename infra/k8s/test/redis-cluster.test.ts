// The Redis Cluster variant (overlays/production-cluster: production + components/redis-cluster).
// Rendered with the real kustomize and checked like the other overlays (schemas, selectors, the
// code's config), then its scripts run for real: init.sh against six local cluster-mode
// redis-servers (it forms the cluster once, refuses what it must not touch, and a second run
// changes nothing), pre-stop.sh hands a primary's slots over, refresh-node-addresses.sh rewrites
// stale IPs in a nodes.conf.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFields, loadConfig } from '@coupons/shared/config';
import { ISSUE_QUEUE_NAME, queuePrefixes } from '@coupons/shared/redis';
import { freePort, startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import { requireRedisCli } from '@coupons/local-servers';
import {
  K8S_DIR,
  WORKLOAD_KINDS,
  allContainers,
  containerEnvironment,
  containerOf,
  find,
  findGenerated,
  matchesSelector,
  podTemplate,
  quantity,
  type K8sObject,
} from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlay } from './support/render.ts';
import { schemaFailures } from './support/schema.ts';

const COMPONENT_DIR = path.join(K8S_DIR, 'components/redis-cluster');
const objects = await renderOverlay('production-cluster');

const CLUSTER_LABELS = { 'app.kubernetes.io/name': 'redis-cluster', 'app.kubernetes.io/part-of': 'coupons' };
const workloads = () => objects.filter((object) => WORKLOAD_KINDS.includes(object.kind));
const clusterConfigMap = () => findGenerated(objects, 'ConfigMap', 'redis-cluster');
/** `name value` lines of a Redis config file (comments and blank lines left out). */
const settingsOf = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
      .map((line) => {
        const [name, ...value] = line.trim().split(/\s+/);
        return [name!, value.join(' ')] as [string, string];
      }),
  );

describe.skipIf(SKIP_RENDERING)('production-cluster: the manifests', () => {
  const statefulSet = () => find(objects, 'StatefulSet', 'redis-cluster');
  const redis = () => containerOf(statefulSet(), 'redis');

  it('every object passes its Kubernetes schema with no unknown field, in the one namespace', () => {
    expect(schemaFailures(objects)).toEqual([]);
    for (const object of objects.filter((candidate) => candidate.kind !== 'Namespace')) expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('coupons');
  });

  it("removes the base's single Redis: no redis StatefulSet, Services or policy, no other Redis pods", () => {
    expect(objects.filter((object) => ['Deployment', 'StatefulSet'].includes(object.kind) && object.metadata.name === 'redis')).toEqual([]);
    expect(objects.filter((object) => ['Service', 'NetworkPolicy'].includes(object.kind) && /^redis(-headless)?$/.test(object.metadata.name)).map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([]);
    const redisWorkloads = workloads().filter((workload) => allContainers(workload).some((container) => /^redis:/.test(container.image) && container.command?.join(' ').includes('start.sh')));
    expect(redisWorkloads.map((workload) => `${workload.kind}/${workload.metadata.name}`)).toEqual(['StatefulSet/redis-cluster']);
  });

  it('selects pods that exist: Services, PDBs, NetworkPolicies and their peers', () => {
    const templates = workloads().map((workload) => podTemplate(workload).metadata.labels);
    for (const service of objects.filter((object) => object.kind === 'Service')) {
      expect(templates.some((labels) => matchesSelector(labels, (service.spec as any).selector)), `Service ${service.metadata.name}`).toBe(true);
    }
    for (const budget of objects.filter((object) => object.kind === 'PodDisruptionBudget')) {
      expect(templates.some((labels) => matchesSelector(labels, (budget.spec as any).selector.matchLabels)), `PDB ${budget.metadata.name}`).toBe(true);
    }
    for (const policy of objects.filter((object) => object.kind === 'NetworkPolicy')) {
      const spec = policy.spec as any;
      expect(templates.some((labels) => matchesSelector(labels, spec.podSelector.matchLabels)), `NetworkPolicy ${policy.metadata.name}`).toBe(true);
      for (const peer of spec.ingress.flatMap((rule: any) => rule.from ?? [])) {
        if (peer.podSelector) expect(templates.some((labels) => matchesSelector(labels, peer.podSelector.matchLabels)), `NetworkPolicy ${policy.metadata.name} peer`).toBe(true);
      }
    }
  });

  it('runs six cluster-mode nodes, all at once, behind a headless Service that publishes not-ready pods', () => {
    const spec = statefulSet().spec as any;
    expect(spec.replicas).toBe(6);
    expect(spec.podManagementPolicy).toBe('Parallel');
    expect(matchesSelector(podTemplate(statefulSet()).metadata.labels, spec.selector.matchLabels)).toBe(true);
    const service = find(objects, 'Service', spec.serviceName);
    expect((service.spec as any).clusterIP).toBe('None');
    expect((service.spec as any).publishNotReadyAddresses).toBe(true);
    expect(redis().image).toMatch(/^redis:7\.\d+/);
    expect(redis().ports!.map((port) => port.containerPort)).toEqual([6379, 16379]);
  });

  it("keeps the base's AOF and noeviction, and puts nodes.conf and the AOF on the pod's volume", () => {
    const scripts = clusterConfigMap().data as Record<string, string>;
    const cluster = settingsOf(scripts['redis-cluster.conf']!);
    expect(cluster.get('cluster-enabled')).toBe('yes');
    expect(cluster.get('cluster-preferred-endpoint-type')).toBe('hostname');
    // The included file is the base's redis.conf, from the redis-config ConfigMap mounted there.
    const included = cluster.get('include')!;
    const mounts = redis().volumeMounts!;
    const volumes = podTemplate(statefulSet()).spec.volumes!;
    const mountOf = (file: string) => mounts.find((mount) => path.dirname(file) === mount.mountPath)!;
    const configMapAt = (file: string) => find(objects, 'ConfigMap', volumes.find((volume: any) => volume.name === mountOf(file).name).configMap.name);
    const base = settingsOf((configMapAt(included).data as Record<string, string>)[path.basename(included)]!);
    expect(base.get('appendonly')).toBe('yes');
    expect(base.get('appendfsync')).toBe('everysec');
    expect(base.get('maxmemory-policy')).toBe('noeviction');
    const claim = (statefulSet().spec as any).volumeClaimTemplates[0];
    const dataMount = mounts.find((mount) => mount.name === claim.metadata.name)!.mountPath;
    expect(base.get('dir')).toBe(dataMount);
    expect(path.dirname(cluster.get('cluster-config-file')!)).toBe(dataMount);
    expect(quantity(claim.spec.resources.requests.storage)).toBeGreaterThanOrEqual(quantity('20Gi'));
    // The command runs start.sh from the mounted redis-cluster ConfigMap, which starts Redis with that file.
    const start = redis().command!.at(-1)!;
    expect(configMapAt(start).metadata.name).toBe(clusterConfigMap().metadata.name);
    expect(scripts['start.sh']).toContain(`exec redis-server ${mountOf(start).mountPath}/redis-cluster.conf`);
  });

  it('takes requirepass and masterauth from the Secret, and keeps maxmemory under the memory limit', () => {
    const env = containerEnvironment(objects, { ...redis(), env: redis().env!.filter((variable) => !variable.valueFrom?.fieldRef) });
    const secret = findGenerated(objects, 'Secret', 'coupons-secrets');
    expect(env.REDIS_PASSWORD).toBe(Buffer.from((secret.data as Record<string, string>).REDIS_PASSWORD!, 'base64').toString());
    expect(env.REDISCLI_AUTH).toBe(env.REDIS_PASSWORD);
    const start = (clusterConfigMap().data as Record<string, string>)['start.sh']!;
    expect(start).toContain('--requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD"');
    expect(start).toContain('--maxmemory "$REDIS_MAXMEMORY"');
    expect(quantity(env.REDIS_MAXMEMORY!)).toBeLessThan(quantity(redis().resources!.limits!.memory!));
    expect(redis().resources!.requests!.cpu).toBeDefined();
  });

  it('is ready only in a formed cluster (PING and cluster_state:ok), alive while it accepts connections', () => {
    const readiness = redis().readinessProbe.exec.command.join(' ');
    expect(readiness).toContain('redis-cli ping');
    expect(readiness).toContain('cluster_state:ok');
    expect(redis().livenessProbe.tcpSocket.port).toBe('redis');
    expect(redis().lifecycle.preStop.exec.command.at(-1)).toMatch(/pre-stop\.sh$/);
  });

  it('lets a voluntary disruption take one Redis pod at a time', () => {
    const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget' && matchesSelector(podTemplate(statefulSet()).metadata.labels, (object.spec as any).selector.matchLabels));
    expect(budgets.map((budget) => (budget.spec as any).maxUnavailable)).toEqual([1]);
  });

  it('never schedules two Redis pods on one node (so no replica shares its primary’s node)', () => {
    const required = podTemplate(statefulSet()).spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(required).toEqual([{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: CLUSTER_LABELS } }]);
    expect(matchesSelector(podTemplate(statefulSet()).metadata.labels, CLUSTER_LABELS)).toBe(true);
  });

  it('lets the nodes talk to each other on the bus, and the coupon pods, the init Job and KEDA reach them', () => {
    const policy = find(objects, 'NetworkPolicy', 'redis-cluster');
    const rules = (policy.spec as any).ingress as any[];
    const admits = (labels: Record<string, string>, port: number) =>
      rules.some((rule) => rule.ports.some((candidate: any) => candidate.port === port) && rule.from.some((peer: any) => peer.podSelector && matchesSelector(labels, peer.podSelector.matchLabels)));
    const labelsOf = (kind: string, name: string) => podTemplate(find(objects, kind, name)).metadata.labels;
    expect(admits(labelsOf('StatefulSet', 'redis-cluster'), 16379)).toBe(true);
    expect(admits(labelsOf('StatefulSet', 'redis-cluster'), 6379)).toBe(true);
    for (const [kind, name] of [['Deployment', 'coupons-api'], ['Deployment', 'coupons-worker'], ['Job', 'redis-cluster-init']]) expect(admits(labelsOf(kind!, name!), 6379), name).toBe(true);
    expect(rules.some((rule) => rule.from.some((peer: any) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'keda'))).toBe(true);
  });

  it('gives the API, the worker and the init Job REDIS_CLUSTER_NODES: the six pods by the names they announce', () => {
    const spec = statefulSet().spec as any;
    const service = find(objects, 'Service', spec.serviceName);
    const port = (service.spec as any).ports.find((candidate: any) => candidate.name === 'redis').port;
    const announced = Object.fromEntries(redis().env!.filter((variable) => variable.value !== undefined).map((variable) => [variable.name, variable.value!]));
    // start.sh announces <pod>.<HEADLESS_SERVICE>.<namespace>.svc.<CLUSTER_DOMAIN>.
    expect((clusterConfigMap().data as Record<string, string>)['start.sh']).toContain('me="$(hostname).$HEADLESS_SERVICE.$POD_NAMESPACE.svc.$CLUSTER_DOMAIN"');
    expect(announced.HEADLESS_SERVICE).toBe(service.metadata.name);
    const expected = Array.from({ length: spec.replicas }, (_, i) => `${statefulSet().metadata.name}-${i}.${service.metadata.name}.${statefulSet().metadata.namespace}.svc.${announced.CLUSTER_DOMAIN}:${port}`);
    expect(expected).toHaveLength(6);
    const secret = findGenerated(objects, 'Secret', 'coupons-secrets');
    const password = Buffer.from((secret.data as Record<string, string>).REDIS_PASSWORD!, 'base64').toString();
    for (const [name, container] of [['coupons-api', 'api'], ['coupons-worker', 'worker']] as const) {
      const env = containerEnvironment(objects, containerOf(find(objects, 'Deployment', name), container));
      expect(env.REDIS_CLUSTER_NODES!.split(','), name).toEqual(expected);
      // REDIS_URL still carries the password (expanded: REDIS_PASSWORD stays before it), nothing unresolved.
      expect(decodeURIComponent(new URL(env.REDIS_URL!).password), name).toBe(password);
      expect(Object.values(env).filter((value) => value.includes('$(')), name).toEqual([]);
      expect(() => loadConfig(env), name).not.toThrow();
    }
    const init = containerEnvironment(objects, containerOf(find(objects, 'Job', 'redis-cluster-init'), 'cluster-init'));
    expect(init.REDIS_CLUSTER_NODES!.split(',')).toEqual(expected);
    expect(init.REDISCLI_AUTH).toBe(password);
    expect(init.CLUSTER_REPLICAS).toBe('1');
  });

  it('reads REDIS_CLUSTER_NODES through the config schema (the cluster client gets the six nodes)', () => {
    // Every ConfigMap key is a variable the code reads (a typo would silently use a default).
    const keys = Object.keys(findGenerated(objects, 'ConfigMap', 'coupons-config').data as object);
    expect(keys.filter((key) => !(key in configFields.shape))).toEqual([]);
    const env = containerEnvironment(objects, containerOf(find(objects, 'Deployment', 'coupons-api'), 'api'));
    expect(loadConfig(env).REDIS_CLUSTER_NODES).toEqual(Array.from({ length: 6 }, (_, i) => ({ host: `redis-cluster-${i}.redis-cluster.coupons.svc.cluster.local`, port: 6379 })));
  });

  it('runs every pod as non-root with requests and memory limits, from versioned images', () => {
    for (const workload of workloads()) {
      expect((podTemplate(workload).spec as any).securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
      for (const container of allContainers(workload) as any[]) {
        const where = `${workload.metadata.name}/${container.name}`;
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.resources?.requests?.cpu, where).toBeDefined();
        expect(container.resources?.limits?.memory, where).toBeDefined();
        expect(container.image, where).toMatch(/^[^/]+\.[^/]+\/.+:(?!latest$)[\w.-]+$|^(redis|postgres):[\w.-]+$/);
      }
    }
  });

  it('deploys the scripts tested below, byte for byte', () => {
    const data = clusterConfigMap().data as Record<string, string>;
    for (const file of ['init.sh', 'start.sh', 'pre-stop.sh', 'refresh-node-addresses.sh', 'redis-cluster.conf']) {
      expect(data[file], file).toBe(readFileSync(path.join(COMPONENT_DIR, file), 'utf8'));
    }
    const job = find(objects, 'Job', 'redis-cluster-init');
    expect(containerOf(job, 'cluster-init').command!.at(-1)).toMatch(/\/init\.sh$/);
    expect((job.spec as any).template.spec.restartPolicy).toBe('OnFailure');
  });
});

// The scripts, run with the real redis-cli against real cluster-mode redis-servers.
const PASSWORD = 'cluster-test-password';
const cli = requireRedisCli();
const scriptEnv = (extra: Record<string, string>) => ({
  ...process.env,
  ...cli.env,
  PATH: `${path.dirname(cli.path)}${path.delimiter}${process.env.PATH}`,
  REDISCLI_AUTH: PASSWORD,
  ...extra,
});

interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}
async function runScript(file: string, args: string[], env: Record<string, string>): Promise<ScriptRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)('sh', [path.join(COMPONENT_DIR, file), ...args], { env: scriptEnv(env), timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function ask<T>(node: RedisServer, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port: node.port, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}
const clusterInfo = async (node: RedisServer) =>
  Object.fromEntries(((await ask(node, (redis) => redis.cluster('INFO'))) as string).split('\r\n').filter(Boolean).map((line) => line.split(':') as [string, string]));
/** Each node's view of itself: id, role, its primary, slots, config epoch (not ping times or link states). */
async function topology(nodes: RedisServer[]) {
  return Promise.all(
    nodes.map(async (node) => {
      const line = ((await ask(node, (redis) => redis.cluster('NODES'))) as string).split('\n').find((candidate) => candidate.includes('myself'))!;
      const [id, , flags, master, , , epoch, , ...slots] = line.trim().split(' ');
      return { port: node.port, id, role: flags!.includes('master') ? 'master' : 'slave', master, epoch, slots: slots.join(' ') };
    }),
  );
}

describe('components/redis-cluster scripts, against six local cluster-mode redis-servers', () => {
  const nodes: RedisServer[] = [];
  const nodesEnv = () => nodes.map((node) => `127.0.0.1:${node.port}`).join(',');

  beforeAll(async () => {
    for (let i = 0; i < 6; i++) {
      // As the pods run: cluster mode, nodes.conf in the node's dir, requirepass + masterauth.
      nodes.push(
        await startRedisServer({
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(await freePort()), '--requirepass', PASSWORD, '--masterauth', PASSWORD],
        }),
      );
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
  });

  it('init.sh waits for every node and gives up naming the one that does not answer, touching nothing', async () => {
    const missing = nodes[5]!;
    await missing.stop('SIGKILL');
    const run = await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '2' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`127.0.0.1:${missing.port} to answer PING`);
    await missing.restart();
    for (const node of nodes) expect((await clusterInfo(node)).cluster_slots_assigned).toBe('0');
  }, 30_000);

  it('init.sh refuses a half-formed cluster (some slots assigned) and names the repair', async () => {
    await ask(nodes[0]!, (redis) => redis.cluster('ADDSLOTSRANGE', 0, 99));
    const run = await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '5' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('half-formed');
    expect(run.stderr).toContain('redis-cli --cluster fix');
    expect(run.stdout).not.toContain('creating');
    await ask(nodes[0]!, (redis) => redis.cluster('RESET', 'HARD'));
    expect((await clusterInfo(nodes[0]!)).cluster_slots_assigned).toBe('0');
  }, 30_000);

  it('init.sh forms three primaries with a replica each; a second run changes nothing', async () => {
    const first = await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '30' });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('cluster-init: creating a cluster of 6 nodes with 1 replica(s) per primary');
    expect(first.stdout).toContain('formed: cluster_state:ok on all 6 nodes');
    for (const node of nodes) {
      const info = await clusterInfo(node);
      expect(info).toMatchObject({ cluster_state: 'ok', cluster_slots_assigned: '16384', cluster_known_nodes: '6', cluster_size: '3' });
    }
    const formed = await topology(nodes);
    const primaries = formed.filter((node) => node.role === 'master');
    expect(primaries).toHaveLength(3);
    expect(formed.filter((node) => node.role === 'slave').map((node) => node.master).sort()).toEqual(primaries.map((node) => node.id).sort());

    const epoch = (await clusterInfo(nodes[0]!)).cluster_current_epoch;
    const second = await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '30' });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('the cluster already has all 16384 slots assigned: nothing to create');
    expect(second.stdout).not.toContain('creating');
    expect(await topology(nodes)).toEqual(formed);
    expect((await clusterInfo(nodes[0]!)).cluster_current_epoch).toBe(epoch);
  }, 90_000);

  it.skipIf(SKIP_RENDERING)("spreads production-cluster's queue shards evenly over the primaries init.sh formed", async () => {
    // The shards' slots follow from their names (CRC16 of the hash tag), not from a round-robin:
    // ask the cluster where each one lives (README, "Choosing the shard count").
    const config = loadConfig(containerEnvironment(objects, containerOf(find(objects, 'Deployment', 'coupons-worker'), 'worker')));
    const roles = await topology(nodes);
    const primaries = roles.filter((entry) => entry.role === 'master');
    const ownerOf = (slot: number) =>
      primaries.find((entry) => entry.slots.split(' ').some((range) => {
        const [from, to] = range.split('-').map(Number);
        return slot >= from! && slot <= (to ?? from!);
      }))!.port;
    const perPrimary = new Map(primaries.map((entry) => [entry.port, 0]));
    for (const prefix of queuePrefixes(config.REDIS_PREFIX, config.QUEUE_SHARDS)) {
      const slot = Number(await ask(nodes[0]!, (redis) => redis.cluster('KEYSLOT', `${prefix}:${ISSUE_QUEUE_NAME}:wait`)));
      perPrimary.set(ownerOf(slot), perPrimary.get(ownerOf(slot))! + 1);
    }
    expect(config.QUEUE_SHARDS % primaries.length).toBe(0);
    expect([...perPrimary.values()]).toEqual(primaries.map(() => config.QUEUE_SHARDS / primaries.length));
  });

  it('init.sh is still a no-op with one node down (a formed cluster needs no waiting)', async () => {
    const before = await topology(nodes);
    const replica = nodes.find((node) => before.find((entry) => entry.port === node.port)!.role === 'slave')!;
    await replica.stop('SIGTERM');
    const run = await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '2' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing to create');
    await replica.restart();
    // It comes back as the same node (nodes.conf in its dir), following the same primary.
    await waitFor(async () => (await clusterInfo(replica)).cluster_state === 'ok', { timeoutMs: 20_000, intervalMs: 100, message: 'the restarted replica to rejoin' });
    expect(await topology([replica])).toEqual(before.filter((entry) => entry.port === replica.port));
  }, 60_000);

  it('pre-stop.sh hands a primary’s slots to its replica (CLUSTER FAILOVER) and lets a replica stop as it is', async () => {
    const before = await topology(nodes);
    const primary = before.find((entry) => entry.role === 'master')!;
    const replica = before.find((entry) => entry.master === primary.id)!;
    // The handover needs the replica's link up as the primary sees it (a loaded machine may still be syncing it).
    const primaryNode = nodes.find((node) => node.port === primary.port)!;
    await waitFor(
      async () => ((await ask(primaryNode, (redis) => redis.call('CLUSTER', 'REPLICAS', primary.id!))) as string[]).some((line) => line.split(' ')[7] === 'connected'),
      { timeoutMs: 30_000, intervalMs: 100, message: 'the primary to see its replica connected' },
    );
    const run = await runScript('pre-stop.sh', [], { REDIS_PORT: String(primary.port), HANDOVER_SECONDS: '20' });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`now a replica of 127.0.0.1:${replica.port}`);
    const after = await topology(nodes);
    expect(after.find((entry) => entry.port === replica.port)).toMatchObject({ role: 'master', slots: primary.slots });
    expect(after.find((entry) => entry.port === primary.port)).toMatchObject({ role: 'slave', master: replica.id, slots: '' });
    // Now a replica: it stops without asking anyone anything.
    const again = await runScript('pre-stop.sh', [], { REDIS_PORT: String(primary.port) });
    expect(again).toMatchObject({ code: 0, stdout: '' });
    expect(await topology(nodes)).toEqual(after);
    // And the init Job still sees a formed cluster after the switch.
    expect((await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '2' })).stdout).toContain('nothing to create');
  }, 60_000);

  it('init.sh checks that no replica runs on its primary’s Kubernetes node, and names the pair when one does', async () => {
    const roles = await topology(nodes);
    // Redis 7.0 here has no cluster-announce-human-nodename (7.2): the check is told to read another
    // free-text setting, which each node sets to the name of "its Kubernetes node".
    const setNodeName = (port: number, name: string) => ask(nodes.find((node) => node.port === port)!, (redis) => redis.config('SET', 'cluster-announce-hostname', name));
    const check = () => runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '2', NODE_NAME_SETTING: 'cluster-announce-hostname' });
    try {
      expect((await runScript('init.sh', [], { REDIS_CLUSTER_NODES: nodesEnv(), WAIT_SECONDS: '2' })).stdout).toContain('placement: not checked');
      for (const [i, entry] of roles.entries()) await setNodeName(entry.port, `k8s-node-${i}`);
      const spread = await check();
      expect(spread.code).toBe(0);
      expect(spread.stdout).toContain('placement: every replica runs on another Kubernetes node than its primary');
      const replica = roles.find((entry) => entry.role === 'slave')!;
      const primary = roles.find((entry) => entry.id === replica.master)!;
      await setNodeName(replica.port, `k8s-node-${roles.indexOf(primary)}`);
      const shared = await check();
      expect(shared.code).toBe(1);
      expect(shared.stderr).toContain(`127.0.0.1:${replica.port} replicates 127.0.0.1:${primary.port} (${primary.id}) on the same Kubernetes node k8s-node-${roles.indexOf(primary)}`);
      expect(shared.stderr).toContain('cluster replicate');
      expect(await topology(nodes)).toEqual(roles);
    } finally {
      for (const entry of roles) await setNodeName(entry.port, '');
    }
  }, 60_000);
});

describe.skipIf(SKIP_RENDERING)('the rendered redis-cluster.conf', () => {
  it("starts a real redis-server in cluster mode with the base's settings (only the paths moved to a temp dir)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-cluster-conf-'));
    const rendered = (name: string) => (find(objects, 'ConfigMap', objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith(`${name}-`))!.metadata.name).data as Record<string, string>);
    const base = rendered('redis-config')['redis.conf']!;
    const cluster = rendered('redis-cluster')['redis-cluster.conf']!;
    // The pod's paths (/data, /usr/local/etc/redis) do not exist here: the same files, pointed at the temp dir.
    writeFileSync(path.join(dir, 'redis.conf'), base.replace(/^dir \/data$/m, `dir ${dir}`));
    writeFileSync(
      path.join(dir, 'redis-cluster.conf'),
      cluster.replace(/^include \S+$/m, `include ${path.join(dir, 'redis.conf')}`).replace(/^cluster-config-file \/data\//m, `cluster-config-file ${dir}/`),
    );
    const directives = (file: string) => readFileSync(path.join(dir, file), 'utf8').split('\n').filter((line) => !line.startsWith('#'));
    expect([...directives('redis.conf'), ...directives('redis-cluster.conf')].filter((line) => /\/data|\/usr\/local/.test(line))).toEqual([]);
    const server = await startRedisServer({ extraArgs: ['--include', path.join(dir, 'redis-cluster.conf'), '--requirepass', PASSWORD, '--masterauth', PASSWORD, '--maxmemory', '200mb', '--cluster-port', String(await freePort())] });
    try {
      const setting = async (name: string) => ((await ask(server, (redis) => redis.config('GET', name))) as string[])[1];
      expect(await setting('cluster-enabled')).toBe('yes');
      expect(await setting('cluster-config-file')).toBe(`${dir}/nodes.conf`);
      expect(await setting('cluster-preferred-endpoint-type')).toBe('hostname');
      expect(await setting('cluster-require-full-coverage')).toBe('no');
      expect(await setting('appendonly')).toBe('yes');
      expect(await setting('appendfsync')).toBe('everysec');
      expect(await setting('maxmemory-policy')).toBe('noeviction');
      expect(await setting('masterauth')).toBe(PASSWORD);
      expect((await clusterInfo(server)).cluster_known_nodes).toBe('1');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('components/redis-cluster refresh-node-addresses.sh', () => {
  it("rewrites each node's IP to what its announced hostname resolves to now, and leaves the rest", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nodes-conf-'));
    try {
      const conf = path.join(dir, 'nodes.conf');
      const lines = [
        'aaa 10.1.2.3:6379@16379,localhost,tls-port=0,shard-id=x master - 0 0 1 connected 0-5460',
        'bbb 10.1.2.4:6379@16379,no-such-host.invalid slave aaa 0 0 1 connected',
        'ccc 10.1.2.5:6379@16379 myself,master - 0 0 2 connected 5461-10922 [5461->-aaa]',
        'vars currentEpoch 6 lastVoteEpoch 0',
      ];
      writeFileSync(conf, `${lines.join('\n')}\n`);
      const run = await runScript('refresh-node-addresses.sh', [conf], {});
      expect(run.code).toBe(0);
      const [first, ...rest] = readFileSync(conf, 'utf8').trimEnd().split('\n');
      const localhost = /^aaa (\S+):6379@16379,localhost,tls-port=0,shard-id=x master - 0 0 1 connected 0-5460$/.exec(first!)?.[1];
      expect(['127.0.0.1', '::1']).toContain(localhost);
      expect(run.stdout).toContain(`localhost is now ${localhost} (was 10.1.2.3)`);
      expect(rest).toEqual(lines.slice(1));
      // No nodes.conf yet (a first start): nothing to do.
      expect((await runScript('refresh-node-addresses.sh', [path.join(dir, 'absent.conf')], {})).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
