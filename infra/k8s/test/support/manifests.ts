// The rendered overlays and the small lookups the manifest tests share.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A rendered object: what the tests read of every kind. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const K8S_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO_ROOT = path.resolve(K8S_DIR, '../..');
export const SECRETS_TEMPLATE = path.join(K8S_DIR, 'base/secrets.env.example');

export type Overlay = 'minikube' | 'production';
export const OVERLAYS: Overlay[] = ['minikube', 'production'];

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
  return found;
}

/** A generated object found by the name it has before kustomize's hash suffix. */
export function findGenerated(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', baseName: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind && new RegExp(`^${baseName}-[a-z0-9]{10}$`).test(object.metadata.name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${baseName}-<hash>, found ${found.length}`);
  return found[0]!;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: any }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: any;
  readinessProbe?: any;
  startupProbe?: any;
  lifecycle?: any;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  volumes?: any[];
  affinity?: any;
  [field: string]: unknown;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

export function podTemplate(workload: K8sObject): { metadata: { labels: Record<string, string> }; spec: PodSpec } {
  return (workload.spec as any).template;
}

export function containerOf(workload: K8sObject, name: string, init = false): Container {
  const spec = podTemplate(workload).spec;
  const found = (init ? spec.initContainers : spec.containers)?.find((container) => container.name === name);
  if (!found) throw new Error(`${workload.kind} ${workload.metadata.name} has no ${init ? 'init ' : ''}container ${name}`);
  return found;
}

export function allContainers(workload: K8sObject): Container[] {
  const spec = podTemplate(workload).spec;
  return [...(spec.initContainers ?? []), ...spec.containers];
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/**
 * The environment a container's process sees, as the kubelet builds it: envFrom first, then env in
 * order (later wins), values from ConfigMap/Secret keys, and `$(VAR)` references to variables
 * defined before expanded (`$$(VAR)` stays literal).
 */
export function containerEnvironment(objects: K8sObject[], container: Container): Record<string, string> {
  const namespaced = (kind: string, name: string) => find(objects, kind, name);
  const decode = (secret: K8sObject, key: string) => {
    const value = (secret.data as Record<string, string> | undefined)?.[key];
    if (value === undefined) throw new Error(`Secret ${secret.metadata.name} has no key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, namespaced('ConfigMap', source.configMapRef.name).data);
    if (source.secretRef) {
      const secret = namespaced('Secret', source.secretRef.name);
      for (const key of Object.keys((secret.data as object) ?? {})) env[key] = decode(secret, key);
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.secretKeyRef) {
      env[variable.name] = decode(namespaced('Secret', variable.valueFrom.secretKeyRef.name), variable.valueFrom.secretKeyRef.key);
    } else if (variable.valueFrom?.configMapKeyRef) {
      const { name, key } = variable.valueFrom.configMapKeyRef;
      const value = (namespaced('ConfigMap', name).data as Record<string, string>)[key];
      if (value === undefined) throw new Error(`ConfigMap ${name} has no key ${key}`);
      env[variable.name] = value;
    } else if (variable.valueFrom) {
      throw new Error(`${container.name}: ${variable.name} uses an unsupported valueFrom`);
    } else {
      env[variable.name] = (variable.value ?? '').replace(/\$(\$)?\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, escaped: string | undefined, name: string) =>
        escaped ? `$(${name})` : (env[name] ?? whole),
      );
    }
  }
  return env;
}

/** Kubernetes quantities (`512Mi`, `4Gi`, `1`, `250m`) and Redis sizes (`200mb`, `2gb`) in base units. */
export function quantity(value: string): number {
  const match = /^([0-9.]+)([a-zA-Z]*)$/.exec(value.trim());
  if (!match) throw new Error(`not a quantity: ${value}`);
  const units: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30,
    kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30,
  };
  const unit = units[match[2]!];
  if (unit === undefined) throw new Error(`unknown unit in ${value}`);
  return Number(match[1]) * unit;
}

/** An image reference without its tag and digest: `registry:5000/team/name:tag@sha256:…` → `registry:5000/team/name`. */
export function imageName(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest;
}
