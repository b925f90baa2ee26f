// Identity in the manifests (issue 11): production runs AUTH_MODE=jwt with the identity provider's
// coordinates, and the ingress controller's header setting drops every identity header a client sends.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { GATEWAY_HEADERS } from '@coupons/shared/auth';
import { loadConfig } from '@coupons/shared/config';
import { K8S_DIR, containerEnvironment, containerOf, find, type K8sObject } from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlays } from './support/render.ts';

const rendered = await renderOverlays();
const configOf = (objects: K8sObject[], deployment: string, container: string) => loadConfig(containerEnvironment(objects, containerOf(find(objects, 'Deployment', deployment), container)));

describe.skipIf(SKIP_RENDERING)('identity in the manifests', () => {
  it('runs production in jwt mode, with a JWKS over https, an issuer and an audience', () => {
    for (const [deployment, container] of [['coupons-api', 'api'], ['coupons-worker', 'worker']] as const) {
      const config = configOf(rendered.production, deployment, container);
      expect(config.AUTH_MODE).toBe('jwt');
      expect(new URL(config.AUTH_JWKS_URL!).protocol).toBe('https:');
      expect(config.AUTH_JWT_ISSUER).toMatch(/\S/);
      expect(config.AUTH_JWT_AUDIENCE).toMatch(/\S/);
      expect(config.AUTH_JWT_PUBLIC_KEY).toBeUndefined();
    }
  });

  it('keeps minikube on trusted-header, for development', () => {
    expect(configOf(rendered.minikube, 'coupons-api', 'api').AUTH_MODE).toBe('trusted-header');
  });

  it("gives ingress-nginx an empty value for X-User-Id and the gateway's headers, so no client's reaches the API", () => {
    const out = execFileSync(process.env.KUBECTL ?? 'kubectl', ['kustomize', path.join(K8S_DIR, 'ingress-nginx')], { encoding: 'utf8' });
    const [configMap] = parseAllDocuments(out).map((doc) => doc.toJS() as K8sObject);
    expect(configMap).toMatchObject({ kind: 'ConfigMap', metadata: { namespace: 'ingress-nginx' } });
    const data = configMap!.data as Record<string, string>;
    for (const header of Object.values(GATEWAY_HEADERS)) {
      const key = Object.keys(data).find((name) => name.toLowerCase() === header);
      expect({ header, value: key === undefined ? 'missing' : data[key] }).toEqual({ header, value: '' });
    }
  });
});
