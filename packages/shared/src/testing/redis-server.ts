import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { answersPing, freePort, spawnRedisServer } from '@coupons/local-servers';
import { parseRedisInfo } from '../redis/info.ts';
import { waitFor } from './wait-for.ts';

export type AppendFsync = 'everysec' | 'always';

export interface RedisServerOptions {
  /** AOF fsync policy; the AOF itself is always on (as the k8s manifests run Redis). */
  appendfsync?: AppendFsync;
  /** More `--name value` arguments after the defaults (which they override), e.g. `['--replicaof', '127.0.0.1 6380']`. */
  extraArgs?: string[];
}

/**
 * A private `redis-server` for tests that stop, kill or flush Redis: its own port and its own
 * temp dir, append-only persistence on, RDB snapshots off. Never the shared Redis on 6379.
 */
export interface RedisServer {
  port: number;
  url: string;
  /** Where the AOF (appendonlydir/) and redis.log live. */
  dir: string;
  appendfsync: AppendFsync;
  /** Whether the process is running. */
  readonly running: boolean;
  /** The process id while running. */
  readonly pid: number | undefined;
  /**
   * Stops the server with `signal` and waits for it to exit. SIGTERM is Redis's clean
   * shutdown (the AOF is flushed and fsynced); SIGKILL is a crash of the process.
   */
  stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and dir (so it loads the same AOF); resolves once it serves commands. */
  restart(): Promise<void>;
  /** A `INFO <section>` reply as key → value. */
  info(section: string): Promise<Record<string, string>>;
  /** Sends one command on a short-lived connection (e.g. `CONFIG SET …`) and returns its reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** The end of redis.log (for reports when something went wrong). */
  logTail(lines?: number): Promise<string>;
  /** Kills it if running and removes its dir. Idempotent. */
  close(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;


/** One short-lived connection per call, so a stopped server never leaves a client reconnecting. */
export async function withClient<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}


export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const appendfsync = options.appendfsync ?? 'everysec';
  const dir = await mkdtemp(join(tmpdir(), 'chaos-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let port = 0;

  const launch = async () => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1',
      '--appendonly', 'yes', '--appendfsync', appendfsync,
      '--save', '', '--dir', dir, '--logfile', 'redis.log',
      '--maxmemory-policy', 'noeviction',
      ...(options.extraArgs ?? []),
    ];
    const started = spawnRedisServer(args);
    child = started;
    exited = once(started, 'exit');
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(async () => gone || (await answersPing('127.0.0.1', port)), { timeoutMs: START_TIMEOUT_MS, intervalMs: 25, message: `redis-server on port ${port}` });
    if (gone) throw new Error(`redis-server on port ${port} exited at start: ${(await server.logTail(3)).trim()}`);
  };

  const server: RedisServer = {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    dir,
    appendfsync,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    get pid() {
      return server.running ? child!.pid : undefined;
    },
    async stop(signal) {
      if (!server.running) return;
      child!.kill(signal);
      await exited;
    },
    async restart() {
      if (server.running) throw new Error('redis-server is still running');
      await launch();
    },
    info: (section) => withClient(port, (redis) => redis.info(section)).then(parseRedisInfo),
    call: (command, ...args) => withClient(port, (redis) => redis.call(command, ...args)),
    async logTail(lines = 20) {
      const log = await readFile(join(dir, 'redis.log'), 'utf8').catch(() => '');
      return log.split('\n').slice(-lines - 1).join('\n');
    },
    async close() {
      await server.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };

  // Another process may take the free port first: then Redis exits at once, and we try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      return server;
    } catch (error) {
      await server.stop('SIGKILL');
      if (attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}
