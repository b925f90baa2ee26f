// The overlays, rendered as `kubectl apply -k` would send them, checked against the Kubernetes
// schemas and against the code they deploy (config schema, queue keys, shutdown timings).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFields, loadConfig } from '@coupons/shared/config';
import { ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import {
  OVERLAYS,
  REPO_ROOT,
  SECRETS_TEMPLATE,
  allContainers,
  containerEnvironment,
  containerOf,
  find,
  findGenerated,
  matchesSelector,
  podTemplate,
  quantity,
  WORKLOAD_KINDS,
  type K8sObject,
} from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlay, renderOverlays } from './support/render.ts';
import { API_DB_POOL_SIZE, API_READINESS_DB_POOL_SIZE } from '@coupons/api/pool-sizes';
import { WORKER_DB_POOL_SIZE } from '@coupons/worker/pool-sizes';
import { schemaFailures } from './support/schema.ts';

const [rendered, withPlainWorkerHpa] = await Promise.all([renderOverlays(), renderOverlay('production', ['worker-hpa'])]);
const variants: [string, K8sObject[]][] = [...OVERLAYS.map((overlay) => [overlay, rendered[overlay]] as [string, K8sObject[]]), ['production + worker-hpa', withPlainWorkerHpa]];

const FAULT_KNOBS = Object.keys(configFields.shape).filter((name) => name.startsWith('FAULT_'));
const APP_VARIABLES = Object.keys(configFields.shape).filter((name) => !FAULT_KNOBS.includes(name));
/** Variables the pods set besides the app's own: the passwords the URLs are composed from. */
const PASSWORD_VARIABLES = ['POSTGRES_PASSWORD', 'REDIS_PASSWORD'];

const workloads = (objects: K8sObject[]) => objects.filter((object) => WORKLOAD_KINDS.includes(object.kind));
const secondsOfSleep = (command: string[] | undefined) => {
  const [program, seconds] = command ?? [];
  if (program !== 'sleep' || !/^\d+$/.test(seconds ?? '')) throw new Error(`preStop should be ["sleep", "<seconds>"], is ${JSON.stringify(command)}`);
  return Number(seconds);
};

describe.skipIf(SKIP_RENDERING).each(variants)('%s', (_name, objects) => {
  it('every object passes its Kubernetes schema with no unknown field', () => {
    expect(schemaFailures(objects)).toEqual([]);
  });

  it('puts every namespaced object in the one Namespace it creates', () => {
    const namespaces = objects.filter((object) => object.kind === 'Namespace');
    expect(namespaces.map((namespace) => namespace.metadata.name)).toEqual(['coupons']);
    for (const object of objects.filter((object) => object.kind !== 'Namespace')) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('coupons');
    }
  });

  it('selects pods that exist: workloads, Services, PDBs, NetworkPolicies, autoscalers', () => {
    const templates = workloads(objects).map((workload) => ({ workload, labels: podTemplate(workload).metadata.labels }));
    for (const workload of workloads(objects).filter((workload) => workload.kind !== 'Job')) {
      const selector = (workload.spec as any).selector.matchLabels;
      expect(matchesSelector(podTemplate(workload).metadata.labels, selector), `${workload.kind} ${workload.metadata.name}`).toBe(true);
    }
    for (const service of objects.filter((object) => object.kind === 'Service')) {
      const spec = service.spec as any;
      const backends = templates.filter(({ labels }) => matchesSelector(labels, spec.selector));
      expect(backends.length, `Service ${service.metadata.name} selects no pods`).toBeGreaterThan(0);
      for (const port of spec.ports) {
        for (const { workload } of backends) {
          const names = podTemplate(workload).spec.containers.flatMap((container) => container.ports ?? []);
          expect(names.some((candidate) => candidate.name === port.targetPort || candidate.containerPort === port.targetPort), `Service ${service.metadata.name} port ${port.name}`).toBe(true);
        }
      }
    }
    for (const workload of objects.filter((object) => object.kind === 'StatefulSet')) {
      const governing = find(objects, 'Service', (workload.spec as any).serviceName);
      expect((governing.spec as any).clusterIP, `${workload.metadata.name}'s governing Service is headless`).toBe('None');
    }
    for (const budget of objects.filter((object) => object.kind === 'PodDisruptionBudget')) {
      const selector = (budget.spec as any).selector.matchLabels;
      expect(templates.filter(({ labels }) => matchesSelector(labels, selector)).length, `PDB ${budget.metadata.name}`).toBeGreaterThan(0);
    }
    for (const policy of objects.filter((object) => object.kind === 'NetworkPolicy')) {
      const spec = policy.spec as any;
      expect(templates.some(({ labels }) => matchesSelector(labels, spec.podSelector.matchLabels)), `NetworkPolicy ${policy.metadata.name}`).toBe(true);
      // A rule without `from` admits any source (the public port); its peers are checked where given.
      for (const peer of spec.ingress.flatMap((rule: any) => rule.from ?? [])) {
        if (peer.podSelector) expect(templates.some(({ labels }) => matchesSelector(labels, peer.podSelector.matchLabels))).toBe(true);
      }
    }
    for (const scaler of objects.filter((object) => object.kind === 'HorizontalPodAutoscaler' || object.kind === 'ScaledObject')) {
      find(objects, 'Deployment', (scaler.spec as any).scaleTargetRef.name);
    }
  });

  it('routes the Ingress to the API Service by a port it has, with no rewrite', () => {
    const ingress = find(objects, 'Ingress', 'coupons-api');
    expect(Object.keys(ingress.metadata.annotations ?? {}).filter((key) => /rewrite|app-root|use-regex/.test(key))).toEqual([]);
    for (const rule of (ingress.spec as any).rules) {
      for (const { backend } of rule.http.paths) {
        const service = find(objects, 'Service', backend.service.name);
        expect((service.spec as any).ports.map((port: any) => port.name)).toContain(backend.service.port.name);
      }
    }
  });

  it('gives the API and the worker every variable the config schema reads, valid, and no fault knob', () => {
    const configMap = findGenerated(objects, 'ConfigMap', 'coupons-config');
    // Nothing in the ConfigMap that the code does not read (a typo would silently use a default).
    expect(Object.keys(configMap.data as object).filter((key) => !APP_VARIABLES.includes(key))).toEqual([]);
    for (const [kind, name, container] of [['Deployment', 'coupons-api', 'api'], ['Deployment', 'coupons-worker', 'worker']] as const) {
      const env = containerEnvironment(objects, containerOf(find(objects, kind, name), container));
      expect(APP_VARIABLES.filter((variable) => env[variable] === undefined), `${name}: missing`).toEqual([]);
      expect(Object.keys(env).filter((variable) => !APP_VARIABLES.includes(variable) && !PASSWORD_VARIABLES.includes(variable)), `${name}: unexpected`).toEqual([]);
      expect(() => loadConfig(env), name).not.toThrow();
      expect(Object.values(env).filter((value) => /\$\(/.test(value)), `${name}: unresolved $(VAR)`).toEqual([]);
    }
    for (const workload of workloads(objects)) {
      for (const container of allContainers(workload)) {
        const env = containerEnvironment(objects, container);
        expect(FAULT_KNOBS.filter((knob) => knob in env), `${workload.metadata.name}/${container.name}`).toEqual([]);
      }
    }
  });

  it('gives the API its ADMIN_TOKEN from the Secret (valid, never in the ConfigMap), and the worker none', () => {
    const secret = findGenerated(objects, 'Secret', 'coupons-secrets');
    const token = Buffer.from((secret.data as Record<string, string>).ADMIN_TOKEN!, 'base64').toString();
    const api = containerOf(find(objects, 'Deployment', 'coupons-api'), 'api');
    const entry = (api.env ?? []).find((variable: { name: string }) => variable.name === 'ADMIN_TOKEN') as any;
    expect(entry?.valueFrom?.secretKeyRef).toMatchObject({ name: secret.metadata.name, key: 'ADMIN_TOKEN' });
    expect(containerEnvironment(objects, api).ADMIN_TOKEN).toBe(token);
    expect(loadConfig(containerEnvironment(objects, api)).ADMIN_TOKEN).toEqual([token]);
    expect((findGenerated(objects, 'ConfigMap', 'coupons-config').data as Record<string, string>).ADMIN_TOKEN).toBe('');
    expect(containerEnvironment(objects, containerOf(find(objects, 'Deployment', 'coupons-worker'), 'worker')).ADMIN_TOKEN).toBe('');
  });

  it('points the URLs at the Redis and Postgres it deploys, with their passwords', () => {
    const secret = findGenerated(objects, 'Secret', 'coupons-secrets');
    const password = (key: string) => Buffer.from((secret.data as Record<string, string>)[key]!, 'base64').toString();
    const postgres = find(objects, 'StatefulSet', 'postgres');
    const postgresEnv = containerEnvironment(objects, containerOf(postgres, 'postgres'));
    const redisService = find(objects, 'Service', 'redis');
    const postgresService = find(objects, 'Service', 'postgres');
    const migrate = containerOf(find(objects, 'Job', 'coupons-migrate'), 'migrate');
    const users = [
      ...['coupons-api', 'coupons-worker'].flatMap((name) => allContainers(find(objects, 'Deployment', name))),
      migrate,
    ];
    for (const container of users) {
      const config = loadConfig(containerEnvironment(objects, container));
      const database = new URL(config.DATABASE_URL);
      expect(`${database.hostname}:${database.port}`).toBe(`${postgresService.metadata.name}:${(postgresService.spec as any).ports[0].port}`);
      expect(database.username).toBe(postgresEnv.POSTGRES_USER);
      expect(database.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
      expect(decodeURIComponent(database.password)).toBe(password('POSTGRES_PASSWORD'));
      if (container.name === 'migrate') continue;
      const redis = new URL(config.REDIS_URL);
      expect(`${redis.hostname}:${redis.port}`).toBe(`${redisService.metadata.name}:${(redisService.spec as any).ports[0].port}`);
      expect(decodeURIComponent(redis.password)).toBe(password('REDIS_PASSWORD'));
    }
    const redisEnv = containerEnvironment(objects, containerOf(find(objects, 'StatefulSet', 'redis'), 'redis'));
    expect(redisEnv.REDIS_PASSWORD).toBe(password('REDIS_PASSWORD'));
  });

  it('runs the same migrate command in the Job and in the init containers, before the API and the worker', () => {
    const job = containerOf(find(objects, 'Job', 'coupons-migrate'), 'migrate');
    for (const name of ['coupons-api', 'coupons-worker']) {
      const init = containerOf(find(objects, 'Deployment', name), 'migrate', true);
      expect(init.command).toEqual(job.command);
    }
    // The entry exists where `pnpm deploy` puts the shared package (node_modules/@coupons/shared).
    const entry = job.command!.at(-1)!;
    expect(entry).toMatch(/^node_modules\/@coupons\/shared\//);
    const sharedPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'packages/shared/package.json'), 'utf8'));
    expect(sharedPackage.scripts.migrate).toContain(entry.replace('node_modules/@coupons/shared/', ''));
  });

  it("gives the worker more time to stop than a batch, its lease and its shutdown deadline", () => {
    const worker = find(objects, 'Deployment', 'coupons-worker');
    const config = loadConfig(containerEnvironment(objects, containerOf(worker, 'worker')));
    const graceMs = podTemplate(worker).spec.terminationGracePeriodSeconds! * 1000;
    expect(graceMs).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
    expect(graceMs).toBeGreaterThan(config.LOCK_LEASE_MS);
    // A batch's statements are bounded by the statement timeout, itself shorter than the lease.
    expect(config.DB_STATEMENT_TIMEOUT_MS).toBeLessThan(config.LOCK_LEASE_MS);
    expect(config.SHUTDOWN_TIMEOUT_MS).toBeGreaterThan(config.DB_STATEMENT_TIMEOUT_MS);
  });

  it("fits the API's preStop pause and graceful shutdown in its termination grace period", () => {
    const api = find(objects, 'Deployment', 'coupons-api');
    const container = containerOf(api, 'api');
    const config = loadConfig(containerEnvironment(objects, container));
    const preStopMs = secondsOfSleep(container.lifecycle?.preStop?.exec?.command) * 1000;
    // Long enough for kube-proxy and the ingress to stop sending before the listener closes.
    expect(preStopMs).toBeGreaterThanOrEqual(5_000);
    const graceMs = podTemplate(api).spec.terminationGracePeriodSeconds! * 1000;
    expect(preStopMs + config.SHUTDOWN_READINESS_DELAY_MS + config.SHUTDOWN_TIMEOUT_MS).toBeLessThan(graceMs);
  });

  it('runs Redis with the append-only file on its volume and no eviction, under its memory limit', () => {
    const redis = find(objects, 'StatefulSet', 'redis');
    const container = containerOf(redis, 'redis');
    const env = containerEnvironment(objects, container);
    // The config file the command names is the redis-config ConfigMap's key, mounted there.
    const [configPath, ...flags] = container.args!;
    const mount = container.volumeMounts!.find((candidate) => configPath!.startsWith(`${candidate.mountPath}/`))!;
    const volume = podTemplate(redis).spec.volumes!.find((candidate: any) => candidate.name === mount.name);
    const configMap = find(objects, 'ConfigMap', volume.configMap.name);
    const settings = new Map<string, string>();
    for (const line of (configMap.data as Record<string, string>)[path.basename(configPath!)]!.split('\n')) {
      const match = /^\s*([a-z-]+)\s+(.*?)\s*$/.exec(line);
      if (match && !line.trimStart().startsWith('#')) settings.set(match[1]!, match[2]!);
    }
    for (let i = 0; i < flags.length; i += 2) settings.set(flags[i]!.replace(/^--/, ''), flags[i + 1]!.replace(/\$\((\w+)\)/g, (_, name: string) => env[name]!));
    expect(settings.get('appendonly')).toBe('yes');
    expect(settings.get('appendfsync')).toBe('everysec');
    expect(settings.get('maxmemory-policy')).toBe('noeviction');
    expect(settings.get('requirepass')).toBe(env.REDIS_PASSWORD);
    const maxmemory = quantity(settings.get('maxmemory')!);
    expect(maxmemory).toBeGreaterThan(0);
    expect(maxmemory).toBeLessThan(quantity(container.resources!.limits!.memory!));
    // The AOF lives on the persistent volume.
    const claim = (redis.spec as any).volumeClaimTemplates[0].metadata.name;
    expect(container.volumeMounts!.find((candidate) => candidate.name === claim)!.mountPath).toBe(settings.get('dir'));
  });

  it('keeps Postgres data on its volume', () => {
    const postgres = find(objects, 'StatefulSet', 'postgres');
    const container = containerOf(postgres, 'postgres');
    const env = containerEnvironment(objects, container);
    const claim = (postgres.spec as any).volumeClaimTemplates[0].metadata.name;
    expect(env.PGDATA?.startsWith(`${container.volumeMounts!.find((candidate) => candidate.name === claim)!.mountPath}/`)).toBe(true);
  });

  it('commits no password: only the Secret holds the template values, the real file is git-ignored', () => {
    const secret = findGenerated(objects, 'Secret', 'coupons-secrets');
    const values = Object.values(secret.data as Record<string, string>).map((value) => Buffer.from(value, 'base64').toString());
    expect(values.length).toBeGreaterThan(0);
    for (const object of objects.filter((candidate) => candidate !== secret)) {
      const text = JSON.stringify(object);
      for (const value of values) expect(text.includes(value), `${object.kind} ${object.metadata.name} contains a secret value`).toBe(false);
    }
    execFileSync('git', ['check-ignore', '-q', path.join(path.dirname(SECRETS_TEMPLATE), 'secrets.env')], { cwd: REPO_ROOT });
  });

  it('runs every pod as non-root, without privilege escalation', () => {
    for (const workload of workloads(objects)) {
      const spec = podTemplate(workload).spec as any;
      expect(spec.securityContext?.runAsNonRoot, workload.metadata.name).toBe(true);
      for (const container of allContainers(workload) as any[]) {
        expect(container.securityContext?.allowPrivilegeEscalation, `${workload.metadata.name}/${container.name}`).toBe(false);
        expect(container.securityContext?.capabilities?.drop).toEqual(['ALL']);
      }
    }
  });

  it('fits the API and worker connection pools, at their maximum replicas and surge, in max_connections', () => {
    const maxReplicas = (name: string) => {
      const scaler = objects.find((object) => ['HorizontalPodAutoscaler', 'ScaledObject'].includes(object.kind) && (object.spec as any).scaleTargetRef.name === name);
      const spec = scaler?.spec as any;
      return spec ? (spec.maxReplicas ?? spec.maxReplicaCount) : (find(objects, 'Deployment', name).spec as any).replicas;
    };
    // A rolling update runs up to 25 % more pods (maxSurge, default 25 %), rounded up.
    const withSurge = (replicas: number) => replicas + Math.ceil(replicas * 0.25);
    const needed =
      withSurge(maxReplicas('coupons-api')) * (API_DB_POOL_SIZE + API_READINESS_DB_POOL_SIZE) +
      withSurge(maxReplicas('coupons-worker')) * WORKER_DB_POOL_SIZE +
      1 + // the migrate Job
      3; // superuser_reserved_connections
    const args = containerOf(find(objects, 'StatefulSet', 'postgres'), 'postgres').args ?? [];
    const setting = args.map((arg) => /^max_connections=(\d+)$/.exec(arg)).find(Boolean);
    expect(needed).toBeLessThanOrEqual(setting ? Number(setting[1]) : 100);
  });
});

describe.skipIf(SKIP_RENDERING).each([
  ['production', rendered.production],
  ['minikube', rendered.minikube],
])('%s: worker scaling with KEDA', (_name, objects) => {
  it("scales the workers on the BullMQ wait list the code uses, reading Redis with the worker's password", () => {
    const scaled = find(objects, 'ScaledObject', 'coupons-worker');
    const spec = scaled.spec as any;
    const worker = find(objects, 'Deployment', spec.scaleTargetRef.name);
    const env = containerEnvironment(objects, containerOf(worker, 'worker'));
    const config = loadConfig(env);
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1); // the reconciler runs in workers
    expect(spec.maxReplicaCount).toBeGreaterThanOrEqual(spec.minReplicaCount);
    const [trigger] = spec.triggers;
    expect(trigger.type).toBe('redis');
    expect(trigger.metadata.listName).toBe(`${queuePrefix(config.REDIS_PREFIX)}:${ISSUE_QUEUE_NAME}:wait`);
    const redisService = find(objects, 'Service', 'redis');
    expect(trigger.metadata.address).toBe(`${redisService.metadata.name}.${redisService.metadata.namespace}.svc.cluster.local:${(redisService.spec as any).ports[0].port}`);
    expect(env[trigger.metadata.passwordFromEnv]).toBe(new URL(config.REDIS_URL).password);
  });
});

describe.skipIf(SKIP_RENDERING)('production', () => {
  const objects = rendered.production;

  it('runs at least three API pods, spread, with a disruption budget', () => {
    const api = find(objects, 'Deployment', 'coupons-api');
    expect((api.spec as any).replicas).toBeGreaterThanOrEqual(3);
    expect((find(objects, 'HorizontalPodAutoscaler', 'coupons-api').spec as any).minReplicas).toBeGreaterThanOrEqual(3);
    for (const name of ['coupons-api', 'coupons-worker']) {
      const workload = find(objects, 'Deployment', name);
      const labels = podTemplate(workload).metadata.labels;
      const antiAffinity = podTemplate(workload).spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(antiAffinity.some((term: any) => matchesSelector(labels, term.podAffinityTerm.labelSelector.matchLabels)), name).toBe(true);
      const budgets = objects.filter((object) => object.kind === 'PodDisruptionBudget' && matchesSelector(labels, (object.spec as any).selector.matchLabels));
      expect(budgets.length, name).toBe(1);
    }
  });

  it('sets requests and memory limits on every container', () => {
    for (const workload of workloads(objects)) {
      for (const container of allContainers(workload)) {
        const where = `${workload.metadata.name}/${container.name}`;
        expect(container.resources?.requests?.cpu, where).toBeDefined();
        expect(container.resources?.requests?.memory, where).toBeDefined();
        expect(container.resources?.limits?.memory, where).toBeDefined();
      }
    }
  });

  it('pulls versioned images from a registry', () => {
    for (const workload of workloads(objects)) {
      for (const container of allContainers(workload)) expect(container.image, container.name).toMatch(/^[^/]+\.[^/]+\/.+:(?!latest$)[\w.-]+$|^(redis|postgres):[\w.-]+$/);
    }
  });
});

describe.skipIf(SKIP_RENDERING)('minikube', () => {
  const objects = rendered.minikube;

  it('runs one of each, reachable on a NodePort, from images built into minikube', () => {
    for (const name of ['coupons-api', 'coupons-worker']) expect((find(objects, 'Deployment', name).spec as any).replicas).toBe(1);
    for (const name of ['redis', 'postgres']) expect((find(objects, 'StatefulSet', name).spec as any).replicas).toBe(1);
    expect((find(objects, 'Service', 'coupons-api').spec as any).type).toBe('NodePort');
    for (const workload of workloads(objects)) {
      for (const container of allContainers(workload).filter((candidate) => candidate.image.startsWith('coupons-'))) {
        expect(container.image).toMatch(/^coupons-(api|worker):dev$/);
        expect((container as any).imagePullPolicy).toBe('IfNotPresent');
      }
    }
  });
});

describe.skipIf(SKIP_RENDERING)('the plain-HPA alternative (components/worker-hpa)', () => {
  it('replaces the ScaledObject with an HPA on the worker Deployment', () => {
    expect(withPlainWorkerHpa.filter((object) => object.kind === 'ScaledObject')).toEqual([]);
    const hpa = find(withPlainWorkerHpa, 'HorizontalPodAutoscaler', 'coupons-worker');
    expect((hpa.spec as any).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'coupons-worker' });
    expect((hpa.spec as any).minReplicas).toBeGreaterThanOrEqual(1);
  });
});
