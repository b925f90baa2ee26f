// A local cluster for one burst: a fresh database and Redis prefix (createTestEnvironment), N API
// processes on ephemeral ports and M worker processes, exactly as `pnpm start:api` /
// `start:worker` run them. Torn down at the end, also on Ctrl-C.
import { createTestEnvironment, spawnService, type ServiceProcess, type TestEnvironment } from '@coupons/shared/testing';

export interface LocalCluster {
  environment: TestEnvironment;
  apiUrls: string[];
  services: { name: string; process: ServiceProcess }[];
  /** Stops every process (SIGTERM, then SIGKILL after a grace period) and drops the database and keys. */
  teardown(): Promise<void>;
}

const LISTENING = /API listening on http:\/\/localhost:(\d+)/;
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
    for (let i = 1; i <= apis; i++) services.push({ name: `api-${i}`, process: spawnService('api', env) });
    for (let i = 1; i <= workers; i++) services.push({ name: `worker-${i}`, process: spawnService('worker', env) });
    let starting = true;
    await Promise.all(
      services.map(({ name, process: service }) =>
        Promise.race([
          service.waitForOutput(name.startsWith('api') ? LISTENING : /worker started/, STARTUP_TIMEOUT_MS),
          service.exited.then((code) => {
            if (starting) throw new Error(`${name} exited (${code}) while starting: ${service.output().trim().split('\n').slice(-3).join(' | ')}`);
          }),
        ]),
      ),
    ).finally(() => (starting = false));
    cluster.apiUrls = services
      .filter(({ name }) => name.startsWith('api'))
      .map(({ process: service }) => `http://127.0.0.1:${LISTENING.exec(service.output())![1]}`);
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
