// Which redis-server to run: one on PATH (redis-server, or valkey-server, its fork), else the copy
// `pnpm install` unpacked from Debian's package into .cache/redis (no npm package ships a Redis
// server binary). Every place that starts a Redis process (the embedded server, the tests' private
// servers, Sentinel) asks here, so they all run the same binary the same way.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { CACHE_DIR } from '../paths.ts';

export interface RedisBinary {
  /** Absolute path of the executable. */
  path: string;
  source: 'PATH' | 'cache';
  /** Extra environment (the cached copy finds its libraries through LD_LIBRARY_PATH). */
  env: Record<string, string>;
}

/** Where `pnpm install` unpacks Debian's redis-tools (and the libraries it needs). */
export const REDIS_CACHE_DIR = join(CACHE_DIR, 'redis');

const NAMES = ['redis-server', 'valkey-server'];

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The cached copy's executable and library dirs (Debian's layout: usr/bin, usr/lib/<triplet>).
 * Debian's redis-server is a link to redis-check-rdb (in redis-tools): one binary that acts by the
 * name it is started as, hence argv0 `redis-server` in spawnRedisServer.
 */
export function cachedRedis(root = REDIS_CACHE_DIR): RedisBinary | undefined {
  const path = [join(root, 'usr', 'bin', 'redis-server'), join(root, 'usr', 'bin', 'redis-check-rdb')].find(existsSync);
  if (!path) return undefined;
  const libs = [join(root, 'usr', 'lib', 'x86_64-linux-gnu'), join(root, 'usr', 'lib', 'aarch64-linux-gnu'), join(root, 'usr', 'lib')].filter(existsSync);
  return { path, source: 'cache', env: { LD_LIBRARY_PATH: [...libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter) } };
}

export function findRedisServer(): RedisBinary | undefined {
  for (const name of NAMES) {
    const path = onPath(name);
    if (path) return { path, source: 'PATH', env: {} };
  }
  return cachedRedis();
}

/** The one line a user without Redis reads. */
export const REDIS_MISSING =
  'no redis-server found (not on PATH, and none unpacked into .cache/redis by `pnpm install`): install Redis ' +
  '(Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), run `docker compose up`, ' +
  'or set REDIS_URL to a Redis you have';

export function requireRedisServer(): RedisBinary {
  const binary = findRedisServer();
  if (!binary) throw new Error(REDIS_MISSING);
  return binary;
}

/**
 * redis-cli, for what only the real tool does (`redis-cli --cluster create`): beside the
 * redis-server that runs (Debian ships both in redis-tools, so the cached copy has it too), else PATH.
 */
export function requireRedisCli(): RedisBinary {
  const server = requireRedisServer();
  const beside = join(dirname(server.path), 'redis-cli');
  if (existsSync(beside)) return { ...server, path: beside };
  const path = onPath('redis-cli') ?? onPath('valkey-cli');
  if (!path) throw new Error('no redis-cli found beside redis-server or on PATH: install redis-tools (Debian/Ubuntu: `sudo apt-get install redis-tools`)');
  return { path, source: 'PATH', env: {} };
}

/** Starts redis-server with `args`, as `redis-server` (argv0) whichever copy it is. */
export function spawnRedisServer(args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const binary = requireRedisServer();
  return spawn(binary.path, args, { stdio: 'ignore', ...options, argv0: 'redis-server', env: { ...process.env, ...binary.env, ...options.env } });
}
