// A small `kustomize build`, limited to the features infra/k8s uses, so the tests can render the
// overlays without the kustomize binary (none is installed here). Anything else in a
// kustomization.yaml is an error, never silently ignored: add it here (with a test) first.
//
// Supported: resources (files and directories), components, namespace, images,
// configMapGenerator / secretGenerator (envs, literals, files; behavior create/merge/replace;
// options.disableNameSuffixHash) with kustomize's content-hash name suffix and the references to
// generated names rewritten, and patches (strategic merge — maps merged, the built-in kinds' keyed
// lists merged by their key, `null` deletes, `$patch: delete` removes a resource — or JSON 6902,
// selected by the patch's own kind/name or by a target).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  /**
   * Stand-ins for files that are not there: the path as the kustomization names it, resolved,
   * mapped to the file to read instead (the committed template of a git-ignored secrets file).
   */
  substitutes?: Record<string, string>;
}

interface Resource {
  object: K8sObject;
  /** Made by a generator: gets a content-hash suffix and its references are rewritten. */
  generated?: { hashSuffix: boolean };
}

interface GeneratorSpec {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  literals?: string[];
  files?: string[];
  type?: string;
  options?: { disableNameSuffixHash?: boolean };
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

interface PatchSpec {
  path?: string;
  patch?: string;
  target?: PatchTarget;
}

interface ImageSpec {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface Kustomization {
  apiVersion?: string;
  kind?: 'Kustomization' | 'Component';
  namespace?: string;
  resources?: string[];
  components?: string[];
  images?: ImageSpec[];
  patches?: PatchSpec[];
  configMapGenerator?: GeneratorSpec[];
  secretGenerator?: GeneratorSpec[];
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'images', 'patches', 'configMapGenerator', 'secretGenerator']);
const GENERATOR_FIELDS = new Set(['name', 'behavior', 'envs', 'literals', 'files', 'type', 'options']);

/** Kinds that live outside namespaces (the ones a manifest here could plausibly hold). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

/** Renders the kustomization in `dir` like `kustomize build dir`. */
export function renderKustomization(dir: string, options: RenderOptions = {}): K8sObject[] {
  const resources = build(path.resolve(dir), options, new Set());
  return finalizeGeneratedNames(resources).map((resource) => resource.object);
}

function readKustomization(dir: string): Kustomization {
  const file = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
  if (!file) throw new Error(`no kustomization.yaml in ${dir}`);
  const kustomization = (parse(readFileSync(file, 'utf8')) ?? {}) as Kustomization;
  const unsupported = Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length) throw new Error(`${file}: unsupported kustomization field(s) ${unsupported.join(', ')}`);
  return kustomization;
}

function readText(file: string, options: RenderOptions): string {
  if (!existsSync(file) && options.substitutes?.[file]) return readFileSync(options.substitutes[file], 'utf8');
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  return readFileSync(file, 'utf8');
}

function loadDocuments(file: string, options: RenderOptions): unknown[] {
  return parseAllDocuments(readText(file, options))
    .map((document) => {
      if (document.errors.length) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

function build(dir: string, options: RenderOptions, visiting: Set<string>): Resource[] {
  if (visiting.has(dir)) throw new Error(`kustomization cycle through ${dir}`);
  visiting.add(dir);
  const kustomization = readKustomization(dir);
  const resources: Resource[] = [];
  const add = (resource: Resource) => {
    const duplicate = resources.find((existing) => sameId(existing.object, resource.object));
    if (duplicate) throw new Error(`${dir}: ${idOf(resource.object)} is defined twice`);
    resources.push(resource);
  };

  for (const entry of kustomization.resources ?? []) {
    const target = path.resolve(dir, entry);
    if (existsSync(target) && statSync(target).isDirectory()) {
      build(target, options, visiting).forEach(add);
    } else {
      for (const document of loadDocuments(target, options)) add({ object: asObject(document, target) });
    }
  }
  applyLayer(dir, kustomization, resources, add, options);

  for (const entry of kustomization.components ?? []) {
    const componentDir = path.resolve(dir, entry);
    const component = readKustomization(componentDir);
    if (component.kind !== 'Component') throw new Error(`${componentDir} is not a kind: Component`);
    for (const file of component.resources ?? []) {
      for (const document of loadDocuments(path.resolve(componentDir, file), options)) add({ object: asObject(document, file) });
    }
    applyLayer(componentDir, component, resources, add, options);
  }

  if (kustomization.namespace) {
    for (const { object } of resources) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
  }
  visiting.delete(dir);
  return resources;
}

/** Generators, patches and images of one kustomization or component, over what it has so far (in place). */
function applyLayer(dir: string, layer: Kustomization, resources: Resource[], add: (resource: Resource) => void, options: RenderOptions): void {
  for (const spec of layer.configMapGenerator ?? []) generate(dir, 'ConfigMap', spec, resources, add, options);
  for (const spec of layer.secretGenerator ?? []) generate(dir, 'Secret', spec, resources, add, options);
  for (const spec of layer.patches ?? []) {
    const patched = applyPatch(dir, spec, resources, options);
    resources.splice(0, resources.length, ...patched);
  }
  for (const image of layer.images ?? []) setImage(resources, image);
}

function asObject(value: unknown, source: string): K8sObject {
  const object = value as K8sObject;
  if (!object || typeof object !== 'object' || !object.apiVersion || !object.kind || !object.metadata?.name) {
    throw new Error(`${source}: every document needs apiVersion, kind and metadata.name`);
  }
  return structuredClone(object);
}

const idOf = (object: K8sObject) => `${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
const sameId = (a: K8sObject, b: K8sObject) => a.kind === b.kind && a.metadata.name === b.metadata.name && (a.metadata.namespace ?? '') === (b.metadata.namespace ?? '');

// ---------------------------------------------------------------------------------------------
// Generators

function parseEnvFile(text: string, file: string): [string, string][] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
    .map((line) => {
      const at = line.indexOf('=');
      if (at <= 0) throw new Error(`${file}: "${line}" is not KEY=VALUE`);
      const key = line.slice(0, at).trim();
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new Error(`${file}: invalid key ${JSON.stringify(key)}`);
      return [key, line.slice(at + 1)];
    });
}

function generate(dir: string, kind: 'ConfigMap' | 'Secret', spec: GeneratorSpec, resources: Resource[], add: (resource: Resource) => void, options: RenderOptions): void {
  const unsupported = Object.keys(spec).filter((field) => !GENERATOR_FIELDS.has(field));
  if (unsupported.length) throw new Error(`${dir}: unsupported generator field(s) ${unsupported.join(', ')}`);
  const entries: [string, string][] = [];
  for (const file of spec.envs ?? []) entries.push(...parseEnvFile(readText(path.resolve(dir, file), options), file));
  for (const literal of spec.literals ?? []) entries.push(parseEnvFile(literal, 'literal')[0]!);
  for (const entry of spec.files ?? []) {
    const [key, file] = entry.includes('=') ? entry.split('=', 2) as [string, string] : [path.basename(entry), entry];
    entries.push([key, readText(path.resolve(dir, file), options)]);
  }
  const data: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (key in data) throw new Error(`${dir}: ${kind} ${spec.name} has ${key} twice`);
    data[key] = value;
  }

  const behavior = spec.behavior ?? 'create';
  const existing = resources.find((resource) => resource.object.kind === kind && resource.object.metadata.name === spec.name);
  if (behavior === 'create') {
    if (existing) throw new Error(`${dir}: ${kind} ${spec.name} already exists (use behavior: merge or replace)`);
    const object: K8sObject = { apiVersion: 'v1', kind, metadata: { name: spec.name } };
    if (kind === 'Secret') {
      object.type = spec.type ?? 'Opaque';
      object.data = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
    } else {
      object.data = data;
    }
    add({ object, generated: { hashSuffix: !spec.options?.disableNameSuffixHash } });
    return;
  }
  if (!existing) throw new Error(`${dir}: behavior ${behavior} needs an existing ${kind} ${spec.name}`);
  const encoded = kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) : data;
  existing.object.data = behavior === 'merge' ? { ...(existing.object.data as Record<string, string>), ...encoded } : encoded;
  if (spec.options?.disableNameSuffixHash !== undefined) existing.generated = { hashSuffix: !spec.options.disableNameSuffixHash };
}

/** Go's encoding/json: map keys sorted, and <, >, & escaped. */
function goJson(value: unknown): string {
  const sorted = (input: unknown): unknown =>
    input && typeof input === 'object' && !Array.isArray(input)
      ? Object.fromEntries(Object.keys(input).sort().map((key) => [key, sorted((input as Record<string, unknown>)[key])]))
      : input;
  return JSON.stringify(sorted(value)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** kustomize's name suffix: sha256 of the object's kind, name, (type) and data; 10 characters, vowels-free. */
export function contentHash(object: K8sObject): string {
  const fields: Record<string, unknown> = { kind: object.kind, name: object.metadata.name, data: object.data ?? {} };
  if (object.kind === 'Secret') fields.type = object.type;
  const hex = createHash('sha256').update(goJson(fields)).digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((char) => swap[char] ?? char).join('');
}

/** Every place a pod spec names a ConfigMap or Secret. */
function podSpecsOf(object: K8sObject): Record<string, unknown>[] {
  const spec = object.spec as Record<string, any> | undefined;
  if (!spec) return [];
  if (object.kind === 'Pod') return [spec];
  if (object.kind === 'CronJob') return spec.jobTemplate?.spec?.template?.spec ? [spec.jobTemplate.spec.template.spec] : [];
  return spec.template?.spec ? [spec.template.spec] : [];
}

function finalizeGeneratedNames(resources: Resource[]): Resource[] {
  const renamed = { ConfigMap: new Map<string, string>(), Secret: new Map<string, string>() };
  for (const resource of resources) {
    if (!resource.generated?.hashSuffix) continue;
    const { object } = resource;
    const newName = `${object.metadata.name}-${contentHash(object)}`;
    renamed[object.kind as 'ConfigMap' | 'Secret'].set(object.metadata.name, newName);
    object.metadata.name = newName;
  }
  const configMap = (name: string) => renamed.ConfigMap.get(name) ?? name;
  const secret = (name: string) => renamed.Secret.get(name) ?? name;
  for (const { object } of resources) {
    for (const podSpec of podSpecsOf(object) as any[]) {
      for (const container of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) source.configMapRef.name = configMap(source.configMapRef.name);
          if (source.secretRef) source.secretRef.name = secret(source.secretRef.name);
        }
        for (const variable of container.env ?? []) {
          const from = variable.valueFrom;
          if (from?.configMapKeyRef) from.configMapKeyRef.name = configMap(from.configMapKeyRef.name);
          if (from?.secretKeyRef) from.secretKeyRef.name = secret(from.secretKeyRef.name);
        }
      }
      for (const volume of podSpec.volumes ?? []) {
        if (volume.configMap) volume.configMap.name = configMap(volume.configMap.name);
        if (volume.secret) volume.secret.secretName = secret(volume.secret.secretName);
        for (const source of volume.projected?.sources ?? []) {
          if (source.configMap) source.configMap.name = configMap(source.configMap.name);
          if (source.secret) source.secret.name = secret(source.secret.name);
        }
      }
    }
  }
  return resources;
}

// ---------------------------------------------------------------------------------------------
// Patches

function matchesTarget(object: K8sObject, target: PatchTarget): boolean {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && target.name !== object.metadata.name) return false;
  if (target.namespace !== undefined && target.namespace !== object.metadata.namespace) return false;
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.labelSelector !== undefined) {
    for (const requirement of target.labelSelector.split(',')) {
      const [key, value] = requirement.split('=').map((part) => part.trim());
      if (!key || value === undefined || /[!()]/.test(requirement)) throw new Error(`unsupported labelSelector ${target.labelSelector}`);
      if (object.metadata.labels?.[key] !== value) return false;
    }
  }
  return true;
}

function applyPatch(dir: string, spec: PatchSpec, resources: Resource[], options: RenderOptions): Resource[] {
  const source = spec.path ? path.resolve(dir, spec.path) : `${dir} (inline patch)`;
  const text = spec.path ? readText(source, options) : spec.patch;
  if (text === undefined) throw new Error(`${dir}: a patch needs path or patch`);
  const documents = parseAllDocuments(text).map((document) => document.toJS() as unknown).filter((value) => value != null);
  if (documents.length !== 1) throw new Error(`${source}: one patch per file`);
  const patch = documents[0];

  if (Array.isArray(patch)) {
    if (!spec.target) throw new Error(`${source}: a JSON 6902 patch needs a target`);
    const targets = resources.filter((resource) => matchesTarget(resource.object, spec.target!));
    if (!targets.length) throw new Error(`${source}: no resource matches the target ${JSON.stringify(spec.target)}`);
    for (const resource of targets) resource.object = applyJson6902(resource.object, patch as JsonOperation[], source);
    return resources;
  }

  const strategic = patch as K8sObject & { $patch?: string };
  const target = spec.target ?? { kind: strategic.kind, name: strategic.metadata?.name };
  const targets = resources.filter((resource) => matchesTarget(resource.object, target));
  if (!targets.length) throw new Error(`${source}: no resource matches ${JSON.stringify(target)}`);
  if (strategic.$patch === 'delete') return resources.filter((resource) => !targets.includes(resource));
  if (strategic.$patch !== undefined) throw new Error(`${source}: unsupported $patch: ${strategic.$patch}`);
  for (const resource of targets) {
    const { metadata, ...rest } = strategic;
    // Custom resources (keda.sh, ...) have no merge keys: their lists are replaced, as kustomize does.
    const group = resource.object.apiVersion.includes('/') ? resource.object.apiVersion.split('/')[0]! : '';
    const builtin = !group.includes('.') || group.endsWith('.k8s.io');
    // The patch's name and kind only select; everything else merges (including metadata labels).
    const { name: _name, namespace: _namespace, ...metadataRest } = metadata ?? ({} as K8sObject['metadata']);
    resource.object = mergeStrategic(resource.object, { ...rest, metadata: metadataRest }, [], builtin, source) as K8sObject;
  }
  return resources;
}

/** The key by which a built-in kind's list is merged; undefined: the patch's list replaces it. */
function mergeKeyOf(fieldPath: string[]): string | undefined {
  const field = fieldPath.at(-1);
  if (field === 'containers' || field === 'initContainers' || field === 'ephemeralContainers' || field === 'volumes' || field === 'env' || field === 'imagePullSecrets') return 'name';
  if (field === 'volumeMounts') return 'mountPath';
  if (field === 'ports') return fieldPath.some((segment) => /Containers$|^containers$/.test(segment)) ? 'containerPort' : 'port';
  return undefined;
}

const isMap = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

function mergeStrategic(base: unknown, patch: unknown, fieldPath: string[], builtin: boolean, source: string): unknown {
  if (isMap(patch)) {
    if ('$patch' in patch) throw new Error(`${source}: $patch inside a resource is not supported (at ${fieldPath.join('.')})`);
    const result: Record<string, unknown> = isMap(base) ? { ...base } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete result[key];
      else result[key] = mergeStrategic(result[key], value, [...fieldPath, key], builtin, source);
    }
    return result;
  }
  if (Array.isArray(patch)) {
    const key = builtin ? mergeKeyOf(fieldPath) : undefined;
    if (!key || !Array.isArray(base)) return structuredClone(patch);
    if (!patch.every((item) => isMap(item) && item[key] !== undefined)) throw new Error(`${source}: every item of ${fieldPath.join('.')} needs its ${key}`);
    const result = base.map((item) => structuredClone(item) as unknown);
    for (const item of patch as Record<string, unknown>[]) {
      const at = result.findIndex((existing) => isMap(existing) && existing[key] === item[key]);
      if (at >= 0) result[at] = mergeStrategic(result[at], item, [...fieldPath, String(item[key])], builtin, source);
      else result.push(structuredClone(item));
    }
    return result;
  }
  return patch;
}

interface JsonOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

function applyJson6902(object: K8sObject, operations: JsonOperation[], source: string): K8sObject {
  const result = structuredClone(object) as unknown as Record<string, unknown>;
  for (const operation of operations) {
    if (!['add', 'replace', 'remove'].includes(operation.op)) throw new Error(`${source}: unsupported op ${operation.op}`);
    const segments = operation.path.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop();
    if (last === undefined) throw new Error(`${source}: cannot ${operation.op} the whole resource`);
    let parent: unknown = result;
    for (const segment of segments) {
      parent = Array.isArray(parent) ? parent[Number(segment)] : (parent as Record<string, unknown> | undefined)?.[segment];
      if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${source}: ${operation.path}: ${segment} does not exist`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (operation.op !== 'add' && index >= parent.length)) throw new Error(`${source}: ${operation.path}: no such index`);
      if (operation.op === 'add') parent.splice(index, 0, structuredClone(operation.value));
      else if (operation.op === 'replace') parent[index] = structuredClone(operation.value);
      else parent.splice(index, 1);
    } else {
      const map = parent as Record<string, unknown>;
      if (operation.op !== 'add' && !(last in map)) throw new Error(`${source}: ${operation.path} does not exist`);
      if (operation.op === 'remove') delete map[last];
      else map[last] = structuredClone(operation.value);
    }
  }
  return result as unknown as K8sObject;
}

// ---------------------------------------------------------------------------------------------
// Images

/** Splits `registry/name:tag@digest` into the name (with registry) and the rest. */
export function imageName(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon >= 0 ? withoutDigest.slice(0, colon) : withoutDigest;
}

function setImage(resources: Resource[], spec: ImageSpec): void {
  for (const { object } of resources) {
    for (const podSpec of podSpecsOf(object) as any[]) {
      for (const container of [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])]) {
        if (typeof container.image !== 'string' || imageName(container.image) !== spec.name) continue;
        const current = container.image as string;
        const tag = spec.newTag ?? (current.includes('@') ? undefined : current.slice(imageName(current).length + 1) || undefined);
        const name = spec.newName ?? spec.name;
        container.image = spec.digest ? `${name}@${spec.digest}` : tag ? `${name}:${tag}` : name;
      }
    }
  }
}
