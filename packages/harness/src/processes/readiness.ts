// When a service process is ready, without reading any log message:
// - the API: the `port` and `opsPort` fields of its JSON start-up record (pino, one object per
//   line; the services log nothing else on stdout), then GET /readyz on the operations port until
//   it answers 200;
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
  return listeningPorts(line)?.port;
}

/** Both ports of an API process: public (`port`) and operations (`opsPort`: /metrics, probes). */
export function listeningPorts(line: string): { port: number; opsPort: number } | undefined {
  const record = jsonRecord(line);
  return typeof record?.port === 'number' && typeof record.opsPort === 'number' ? { port: record.port, opsPort: record.opsPort } : undefined;
}

/** Where an API process answers: the public API and its operations listener. */
export interface ApiUrls {
  baseUrl: string;
  /** /metrics, /healthz, /readyz. */
  opsUrl: string;
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

/** Waits until an API process is ready (its operations port's /readyz); resolves with its URLs. */
export async function apiReady(api: ServiceProcess, timeoutMs = 20_000): Promise<ApiUrls> {
  const { port, opsPort } = await api.waitForLine(listeningPorts, { timeoutMs, waitingFor: 'listening ports' });
  const urls = { baseUrl: `http://127.0.0.1:${port}`, opsUrl: `http://127.0.0.1:${opsPort}` };
  await unlessExited(api, waitUntilReady(urls.opsUrl, { timeoutMs }));
  return urls;
}

/** Waits until a worker process consumes its queue. */
export async function workerReady(worker: ServiceProcess, timeoutMs = 20_000): Promise<void> {
  await worker.waitForLine(workerStarted, { timeoutMs, waitingFor: 'start-up record' });
}

/**
 * An API process (give it PORT=0 for an ephemeral port; its operations port is ephemeral unless
 * OPS_PORT is given), once /readyz answers 200.
 */
export async function startApi(env: NodeJS.ProcessEnv, options: ReadyOptions = {}): Promise<{ process: ServiceProcess } & ApiUrls> {
  const api = spawnService('api', { OPS_PORT: '0', ...env }, options);
  try {
    return { process: api, ...(await apiReady(api, options.timeoutMs)) };
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
