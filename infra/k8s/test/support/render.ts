// The overlays as the real `kubectl kustomize` renders them (no home-made renderer: its semantics
// could drift from kustomize's). Every render works on a temp copy of base/, overlays/ and
// components/ in which base/secrets.env is the committed template, so a fresh clone renders, and a
// developer's real secrets.env never reaches a test.
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { K8S_DIR, OVERLAYS, SECRETS_TEMPLATE, type K8sObject, type Overlay } from './manifests.ts';

const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const TREE = ['base', 'overlays', 'components'];
const isCI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

const INSTALL = 'install kubectl (https://kubernetes.io/docs/tasks/tools/; 1.27 or later, which embeds kustomize v5) or set KUBECTL to its path';

function missingKubectl(): string | undefined {
  const probe = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `${KUBECTL} not found: the infra/k8s tests render the overlays with \`kubectl kustomize\`; ${INSTALL}`;
  const kustomize = /Kustomize Version: v?(\d+)\S*/.exec(probe.stdout);
  if (kustomize && Number(kustomize[1]) < 5) return `${KUBECTL} embeds kustomize ${kustomize[0].split(' ').at(-1)}, older than v5: ${INSTALL}`;
  return undefined;
}

/** Why the rendering tests cannot run here, if they cannot. */
export const KUBECTL_MISSING = missingKubectl();
/**
 * For `describe.skipIf`: without kubectl a local run skips the rendering tests (with a note);
 * under CI nothing is skipped and every render fails with KUBECTL_MISSING instead.
 */
export const SKIP_RENDERING = KUBECTL_MISSING !== undefined && !isCI;
if (SKIP_RENDERING) console.warn(`skipping the rendering tests: ${KUBECTL_MISSING}`);

/**
 * `kubectl kustomize overlays/<overlay>`, or with components: an overlay of the overlay, as a user
 * would write one to add them. Skipped runs get no objects (their tests do not run).
 */
export async function renderOverlay(overlay: Overlay | 'production-cluster', components: string[] = []): Promise<K8sObject[]> {
  if (KUBECTL_MISSING) {
    if (SKIP_RENDERING) return [];
    throw new Error(KUBECTL_MISSING);
  }
  const root = mkdtempSync(path.join(tmpdir(), 'k8s-render-'));
  try {
    for (const dir of TREE) cpSync(path.join(K8S_DIR, dir), path.join(root, dir), { recursive: true, filter: (source) => path.basename(source) !== 'secrets.env' });
    writeFileSync(path.join(root, 'base/secrets.env'), readFileSync(SECRETS_TEMPLATE));
    let dir = path.join(root, 'overlays', overlay);
    if (components.length) {
      dir = path.join(root, 'with-components');
      const kustomization = {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        // The overlay's namespace does not reach the objects the components add.
        namespace: 'coupons',
        resources: [`../overlays/${overlay}`],
        components: components.map((component) => `../components/${component}`),
      };
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'kustomization.yaml'), stringify(kustomization));
    }
    const { stdout } = await promisify(execFile)(KUBECTL, ['kustomize', dir], { maxBuffer: 64 << 20 }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`kubectl kustomize overlays/${overlay}${components.length ? ` + ${components.join(', ')}` : ''}: ${error.stderr?.trim() || error.message}`);
    });
    return parseAllDocuments(stdout).flatMap((document) => {
      if (document.errors.length) throw new Error(`kubectl kustomize output: ${document.errors[0]!.message}`);
      const object = document.toJS() as K8sObject | null;
      return object ? [object] : [];
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Every overlay, rendered side by side, with the same components. */
export async function renderOverlays(components: string[] = []): Promise<Record<Overlay, K8sObject[]>> {
  const objects = await Promise.all(OVERLAYS.map((overlay) => renderOverlay(overlay, components)));
  return Object.fromEntries(OVERLAYS.map((overlay, i) => [overlay, objects[i]!])) as Record<Overlay, K8sObject[]>;
}
