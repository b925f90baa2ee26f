// A local cluster for one burst: a fresh database and Redis prefix (createTestEnvironment), N API
// processes on ephemeral ports and M worker processes, exactly as `pnpm start:api` /
// `start:worker` run them. Torn down at the end, also on Ctrl-C.
import { apiReady, spawnService, workerReady, type ServiceProcess } from '@coupons/harness/processes';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';

export interface LocalCluster {
  environment: TestEnvironment;
  apiUrls: string[];
  services: { name: string; process: ServiceProcess }[];
  /** Stops every process (SIGTERM, then SIGKILL after a grace period) and drops the database and keys. */
  teardown(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

async function stopService({ process: service }: { process: ServiceProcess }): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.signal('SIGTERM');
  const timer = setTimeout(() => void service.kill(), STOP_GRACE_MS);
  await service.exited;
  clearTimeout(timer);
}

/**
 * `onTeardown` gets the teardown as soon as there is something to undo (for Ctrl-C during start-up).
 * `beforeStart` runs on the fresh environment before any process starts (the bench pre-fills a queue).
 * `overrides` are variables for the environment and every process (REDIS_URL of a private Redis, EVENT_RETENTION_SECONDS, ...).
 */
export async function startLocalCluster(
  apis: number,
  workers: number,
  log: (line: string) => void,
  onTeardown: (teardown: () => Promise<void>) => void = () => {},
  beforeStart: (environment: TestEnvironment) => Promise<void> = async () => {},
  overrides: Record<string, string> = {},
): Promise<LocalCluster> {
  const environment = await createTestEnvironment(overrides);
  const services: LocalCluster['services'] = [];
  let tornDown: Promise<void> | null = null;
  const cluster: LocalCluster = {
    environment,
    apiUrls: [],
    services,
    teardown: () =>
      (tornDown ??= (async () => {
        await Promise.all(services.map(stopService));
        await environment.cleanup();
      })()),
  };
  onTeardown(cluster.teardown);
  log(`database ${new URL(environment.config.DATABASE_URL).pathname.slice(1)}, Redis prefix ${environment.config.REDIS_PREFIX}`);
  try {
    await beforeStart(environment);
    // INFO keeps the listening line (and any warnings under load) in the captured output.
    const env = { ...environment.env, PORT: '0', LOG_LEVEL: 'info' };
    for (let i = 1; i <= apis; i++) services.push({ name: `api-${i}`, process: spawnService('api', env, { name: `api-${i}` }) });
    for (let i = 1; i <= workers; i++) services.push({ name: `worker-${i}`, process: spawnService('worker', env, { name: `worker-${i}` }) });
    const [apiUrls] = await Promise.all([
      Promise.all(services.filter(({ process: service }) => service.kind === 'api').map(({ process: service }) => apiReady(service, STARTUP_TIMEOUT_MS))),
      Promise.all(services.filter(({ process: service }) => service.kind === 'worker').map(({ process: service }) => workerReady(service, STARTUP_TIMEOUT_MS))),
    ]);
    cluster.apiUrls = apiUrls;
    log(`started ${apis} API (${cluster.apiUrls.join(', ')}) and ${workers} worker processes`);
    return cluster;
  } catch (error) {
    await cluster.teardown();
    throw error;
  }
}

/** Lines at WARN or above that a service printed: what went wrong inside it under the burst. */
export function serviceWarnings(cluster: LocalCluster): { service: string; line: string }[] {
  return cluster.services.flatMap(({ name, process: service }) =>
    service
      .output()
      .split('\n')
      .filter((line) => /"level":(40|50|60)\b/.test(line) || /\b(WARN|ERROR|FATAL)\b/.test(line))
      .map((line) => ({ service: name, line })),
  );
}
