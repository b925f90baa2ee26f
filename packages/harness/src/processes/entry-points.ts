// The one place that knows where the services live and how a pod runs them.
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What `pnpm start:api` / `start:worker` (and a Kubernetes pod) run: `node --import tsx <entry>`. */
export const SERVICE_ENTRY = {
  api: 'services/api/src/main.ts',
  worker: 'services/worker/src/main.ts',
} as const;

export type ServiceKind = keyof typeof SERVICE_ENTRY;
