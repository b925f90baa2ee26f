// The small kustomize renderer the manifest tests rely on, on throwaway kustomizations.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { contentHash, imageName, renderKustomization, type K8sObject } from './support/kustomize.ts';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Writes `files` (path → YAML value, or raw text) under a fresh temp dir. */
function tree(files: Record<string, unknown>): string {
  root = mkdtempSync(path.join(tmpdir(), 'kustomize-test-'));
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    const text = typeof content === 'string' ? content : Array.isArray(content) && content.every((item) => item?.kind) ? content.map((item) => stringify(item)).join('---\n') : stringify(content);
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { tier: 'front' } },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            args: ['--a'],
            envFrom: [{ configMapRef: { name: 'settings' } }],
            env: [{ name: 'A', value: '1' }, { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }],
            ports: [{ name: 'http', containerPort: 80 }],
          },
          { name: 'sidecar', image: 'registry.example.com:5000/tools/sidecar:2' },
        ],
        volumes: [{ name: 'conf', configMap: { name: 'settings' } }],
      },
    },
  },
};

const byKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);

describe('renderKustomization', () => {
  it('merges strategic patches: maps deep, containers and env by name, other lists replaced, null deletes', () => {
    const dir = tree({
      'base/kustomization.yaml': { resources: ['deployment.yaml'] },
      'base/deployment.yaml': deployment,
      'overlay/kustomization.yaml': { resources: ['../base'], patches: [{ path: 'patch.yaml' }] },
      'overlay/patch.yaml': {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: { tier: null, team: 'coupons' } },
        spec: { replicas: 5, template: { spec: { containers: [{ name: 'web', args: ['--b'], env: [{ name: 'B', value: '2' }, { name: 'A', value: 'one' }] }] } } },
      },
    });
    const [web] = renderKustomization(path.join(dir, 'overlay')) as any[];
    expect(web.metadata.labels).toEqual({ team: 'coupons' });
    expect(web.spec.replicas).toBe(5);
    const [container, sidecar] = web.spec.template.spec.containers;
    expect(container.args).toEqual(['--b']);
    expect(container.env.map((variable: any) => `${variable.name}=${variable.value ?? 'secret'}`)).toEqual(['A=one', 'PASSWORD=secret', 'B=2']);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 80 }]);
    expect(sidecar.name).toBe('sidecar');
  });

  it('replaces the lists of custom resources instead of merging them', () => {
    const scaled = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' }, spec: { triggers: [{ type: 'redis' }, { type: 'cpu' }] } };
    const dir = tree({
      'kustomization.yaml': { resources: ['scaled.yaml'], patches: [{ path: 'patch.yaml' }] },
      'scaled.yaml': scaled,
      'patch.yaml': { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' }, spec: { triggers: [{ type: 'cron' }] } },
    });
    expect((renderKustomization(dir)[0] as any).spec.triggers).toEqual([{ type: 'cron' }]);
  });

  it('applies JSON 6902 patches to the targets a label selector picks', () => {
    const dir = tree({
      'kustomization.yaml': { resources: ['deployment.yaml'], patches: [{ path: 'ops.yaml', target: { kind: 'Deployment', labelSelector: 'tier=front' } }] },
      'deployment.yaml': deployment,
      'ops.yaml': [
        { op: 'replace', path: '/spec/replicas', value: 7 },
        { op: 'add', path: '/spec/template/spec/containers/0/args/-', value: '--c' },
        { op: 'remove', path: '/spec/template/spec/volumes' },
      ],
    });
    const [web] = renderKustomization(dir) as any[];
    expect(web.spec.replicas).toBe(7);
    expect(web.spec.template.spec.containers[0].args).toEqual(['--a', '--c']);
    expect(web.spec.template.spec.volumes).toBeUndefined();
  });

  it('generates ConfigMaps and Secrets with a content hash, rewrites references, and merges overlays', () => {
    const dir = tree({
      'base/kustomization.yaml': {
        resources: ['deployment.yaml'],
        configMapGenerator: [{ name: 'settings', envs: ['settings.env'], files: ['app.conf'] }],
        secretGenerator: [{ name: 'creds', envs: ['creds.env'] }],
      },
      'base/deployment.yaml': deployment,
      'base/settings.env': '# comment\nLEVEL=info\n\nSIZE=3\n',
      'base/app.conf': 'a = 1\n',
      'base/creds.env.example': 'password=template\n',
      'overlay/kustomization.yaml': { namespace: 'shop', resources: ['../base'], configMapGenerator: [{ name: 'settings', behavior: 'merge', literals: ['LEVEL=debug'] }] },
    });
    const objects = renderKustomization(path.join(dir, 'overlay'), { substitutes: { [path.join(dir, 'base/creds.env')]: path.join(dir, 'base/creds.env.example') } });
    const [configMap] = byKind(objects, 'ConfigMap');
    const [secret] = byKind(objects, 'Secret');
    expect(configMap!.data).toEqual({ LEVEL: 'debug', SIZE: '3', 'app.conf': 'a = 1\n' });
    expect(configMap!.metadata.name).toMatch(/^settings-[a-z0-9]{10}$/);
    expect(configMap!.metadata.name).toBe(`settings-${contentHash({ ...configMap!, metadata: { name: 'settings' } })}`);
    expect(Buffer.from((secret!.data as any).password, 'base64').toString()).toBe('template');
    expect(secret!.type).toBe('Opaque');
    const [web] = byKind(objects, 'Deployment') as any[];
    const container = web.spec.template.spec.containers[0];
    expect(container.envFrom[0].configMapRef.name).toBe(configMap!.metadata.name);
    expect(container.env[1].valueFrom.secretKeyRef.name).toBe(secret!.metadata.name);
    expect(web.spec.template.spec.volumes[0].configMap.name).toBe(configMap!.metadata.name);
    expect(objects.every((object) => object.metadata.namespace === 'shop')).toBe(true);
  });

  it('names by content: the same data in any key order gives the same suffix, other data another', () => {
    const a = contentHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: '1', b: '2' } });
    const b = contentHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { b: '2', a: '1' } });
    const c = contentHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: '1', b: '3' } });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('sets image names and tags, keeping registries with ports apart from tags', () => {
    const dir = tree({
      'kustomization.yaml': {
        resources: ['deployment.yaml'],
        images: [
          { name: 'web', newName: 'registry.example.com/shop/web', newTag: '2.0' },
          { name: 'registry.example.com:5000/tools/sidecar', newTag: '3' },
        ],
      },
      'deployment.yaml': deployment,
    });
    const [web] = renderKustomization(dir) as any[];
    expect(web.spec.template.spec.containers.map((container: any) => container.image)).toEqual(['registry.example.com/shop/web:2.0', 'registry.example.com:5000/tools/sidecar:3']);
    expect(imageName('registry.example.com:5000/tools/sidecar:2')).toBe('registry.example.com:5000/tools/sidecar');
    expect(imageName('redis@sha256:abc')).toBe('redis');
  });

  it('adds a component: its resources, and `$patch: delete` removes a resource', () => {
    const scaled = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' }, spec: {} };
    const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'w' }, spec: {} };
    const dir = tree({
      'kustomization.yaml': { resources: ['scaled.yaml'], components: ['component'] },
      'scaled.yaml': scaled,
      'component/kustomization.yaml': { apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component', resources: ['hpa.yaml'], patches: [{ path: 'delete.yaml' }] },
      'component/hpa.yaml': hpa,
      'component/delete.yaml': { $patch: 'delete', apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'w' } },
    });
    expect(renderKustomization(dir).map((object) => object.kind)).toEqual(['HorizontalPodAutoscaler']);
  });

  it('refuses what it does not implement, a patch that matches nothing, a missing file and a duplicate', () => {
    const render = (files: Record<string, unknown>) => () => renderKustomization(tree(files));
    expect(render({ 'kustomization.yaml': { resources: [], commonLabels: { a: 'b' } } })).toThrow(/unsupported kustomization field\(s\) commonLabels/);
    expect(render({ 'kustomization.yaml': { resources: ['d.yaml'], patches: [{ path: 'p.yaml' }] }, 'd.yaml': deployment, 'p.yaml': { ...deployment, metadata: { name: 'other' } } })).toThrow(/no resource matches/);
    expect(render({ 'kustomization.yaml': { secretGenerator: [{ name: 's', envs: ['missing.env'] }] } })).toThrow(/missing.env does not exist/);
    expect(render({ 'kustomization.yaml': { resources: ['d.yaml', 'd.yaml'] }, 'd.yaml': deployment })).toThrow(/defined twice/);
  });
});
