// Schema validation of rendered objects with the kubernetes-models classes, plus what those
// schemas do not check: fields they do not know. The generated validators test each known
// property by name (and walk maps such as labels key by key); a field no validator ever read is
// one the API server would reject (or, worse, silently drop).
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { K8sObject } from './manifests.ts';

interface ModelInstance {
  validate(): void;
}
type ModelClass = new (data: any) => ModelInstance;

/** Every kind the manifests may contain. A new kind needs its model here first. */
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

/** Paths (`/spec/template/...`) of fields the model's validator never looked at. */
export function unknownFields(model: ModelInstance): string[] {
  const touched = new WeakMap<object, Set<PropertyKey>>();
  const proxies = new WeakMap<object, object>();
  const mark = (target: object, key: PropertyKey) => {
    let keys = touched.get(target);
    if (!keys) touched.set(target, (keys = new Set()));
    keys.add(key);
  };
  const wrap = <T extends object>(target: T): T => {
    const known = proxies.get(target);
    if (known) return known as T;
    const proxy = new Proxy(target, {
      get(object, key) {
        mark(object, key);
        const value = Reflect.get(object, key) as unknown;
        return value && typeof value === 'object' ? wrap(value) : value;
      },
      has(object, key) {
        mark(object, key);
        return Reflect.has(object, key);
      },
      // A validator that enumerates keys (a map such as labels) knows every one of them.
      ownKeys(object) {
        for (const key of Reflect.ownKeys(object)) mark(object, key);
        return Reflect.ownKeys(object);
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };
  model.validate.call(wrap(model));

  const unknown: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (!value || typeof value !== 'object') return;
    const seen = touched.get(value) ?? new Set();
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (!Array.isArray(value) && !seen.has(key)) unknown.push(`${at}/${key}`);
      else walk(child, `${at}/${key}`);
    }
  };
  walk(model, '');
  return unknown;
}

/** Throws unless `object` is a known kind, valid against its schema, with no unknown field. */
export function validateStrictly(object: K8sObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  const id = `${object.kind} ${object.metadata?.name}`;
  if (!Model) throw new Error(`${id}: no schema model for ${object.apiVersion} ${object.kind} (add it to MODELS)`);
  const model = new Model(structuredClone(object));
  try {
    model.validate();
  } catch (error) {
    throw new Error(`${id}: ${(error as Error).message}`);
  }
  const unknown = unknownFields(model);
  if (unknown.length) throw new Error(`${id}: unknown field(s) ${unknown.join(', ')}`);
}

/** Every object's schema failure (empty when all pass): a test expects `[]` and sees them all at once. */
export function schemaFailures(objects: readonly K8sObject[]): string[] {
  const failures: string[] = [];
  for (const object of objects) {
    try {
      validateStrictly(object);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  return failures;
}
