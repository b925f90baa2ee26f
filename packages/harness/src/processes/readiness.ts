// When a service process is ready, without reading any log message:
// - the API: the `port` field of its JSON log record (pino, one object per line; the services log
//   nothing else on stdout), then GET /readyz on that port until it answers 200;
// - the worker: its start-up record, recognised by its structured fields (`concurrency`, `leaseMs`),
//   which it writes once its BullMQ worker runs.
// Both need LOG_LEVEL at info or below (the default); the launchers set it.
import { waitFor } from '@coupons/shared/testing';
import { spawnService, type ServiceProcess, type SpawnOptions } from './spawn-service.ts';

export interface ReadyOptions extends SpawnOptions {
  /** How long start-up may take (default 20 s; Infinity: until it exits). */
  timeoutMs?: number;
}

function jsonRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The port an API process listens on: the `port` field of its JSON log record. */
export function listeningPort(line: string): number | undefined {
  const port = jsonRecord(line)?.port;
  return typeof port === 'number' ? port : undefined;
}

/** The worker's start-up record (its configuration, logged once it consumes the queue). */
export function workerStarted(line: string): true | undefined {
  const record = jsonRecord(line);
  return record && typeof record.concurrency === 'number' && typeof record.leaseMs === 'number' ? true : undefined;
}

/** Polls GET `${baseUrl}/readyz` until it answers 200. */
export async function waitUntilReady(baseUrl: string, { timeoutMs = 20_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  await waitFor(
    () =>
      fetch(`${baseUrl}/readyz`).then(
        async (res) => {
          await res.arrayBuffer();
          return res.ok;
        },
        () => false,
      ),
    { timeoutMs, intervalMs, message: `${baseUrl}/readyz to answer 200` },
  );
}

/** Rejects as soon as the process exits (while `pending` is still pending). */
function unlessExited<T>(service: ServiceProcess, pending: Promise<T>): Promise<T> {
  let starting = true;
  return Promise.race([
    pending,
    service.exit.then(({ code, signal }) => {
      if (starting) throw new Error(`${service.name} exited (${signal ?? code}) while starting: ${service.lastLines(3).join(' | ')}`);
      return pending;
    }),
  ]).finally(() => (starting = false));
}

/** Waits until an API process is ready; resolves with its base URL. */
export async function apiReady(api: ServiceProcess, timeoutMs = 20_000): Promise<string> {
  const port = await api.waitForLine(listeningPort, { timeoutMs, waitingFor: 'listening port' });
  const baseUrl = `http://127.0.0.1:${port}`;
  await unlessExited(api, waitUntilReady(baseUrl, { timeoutMs }));
  return baseUrl;
}

/** Waits until a worker process consumes its queue. */
export async function workerReady(worker: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  await worker.waitForLine(workerStarted, { timeoutMs, waitingFor: 'start-up record' });
}

/** An API process (give it PORT=0 for an ephemeral port), once /readyz answers 200. */
export async function startApi(env: NodeJS.ProcessEnv, options: ReadyOptions = {}): Promise<{ process: ServiceProcess; baseUrl: string }> {
  const api = spawnService('api', env, options);
  try {
    return { process: api, baseUrl: await apiReady(api, options.timeoutMs) };
  } catch (error) {
    await api.kill();
    throw error;
  }
}

/** A worker process, once it consumes its queue. */
export async function startWorker(env: NodeJS.ProcessEnv, options: ReadyOptions = {}): Promise<ServiceProcess> {
  const worker = spawnService('worker', env, options);
  try {
    await workerReady(worker, options.timeoutMs);
    return worker;
  } catch (error) {
    await worker.kill();
    throw error;
  }
}
