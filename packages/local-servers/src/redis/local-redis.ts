// A Redis server of our own for a machine that runs none: redis-server (from PATH or .cache/redis)
// on a free port, listening on 127.0.0.1 only, its append-only file in .data/redis so a restart
// keeps the queue and the tickets (Postgres stays the truth either way). It stops with this
// process; one left running by a run that was SIGKILLed is reused.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../free-port.ts';
import { DATA_DIR } from '../paths.ts';
import { answersPing } from '../probe.ts';
import { requireRedisServer, spawnRedisServer, type RedisBinary } from './redis-binary.ts';

export interface LocalRedis {
  port: number;
  pid: number;
  url: string;
  dataDir: string;
  binary: RedisBinary['source'];
  /** True when a server this data folder already had running was reused (then stop() leaves it). */
  reused: boolean;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;

/** What we record of the server we started, so that the next run can find it if we die without stopping it. */
interface ServerRecord {
  pid: number;
  port: number;
}

async function recordedServer(file: string): Promise<ServerRecord | undefined> {
  if (!existsSync(file)) return undefined;
  const record = JSON.parse(readFileSync(file, 'utf8')) as ServerRecord;
  if (await answersPing('127.0.0.1', record.port)) return record;
  rmSync(file, { force: true });
  return undefined;
}

export async function startLocalRedis(options: { dataDir?: string } = {}): Promise<LocalRedis> {
  const dataDir = options.dataDir ?? join(DATA_DIR, 'redis');
  const binary = requireRedisServer();
  const recordFile = join(dataDir, 'server.json');
  const running = await recordedServer(recordFile);
  if (running) return { ...running, url: `redis://127.0.0.1:${running.port}`, dataDir, binary: binary.source, reused: true, stop: async () => {} };

  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawnRedisServer([
      '--port', String(port), '--bind', '127.0.0.1',
      '--dir', dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '',
      '--logfile', 'redis.log', '--maxmemory-policy', 'noeviction',
    ]);
    const exit = once(child, 'exit');
    const onExit = () => child.kill('SIGTERM');
    process.on('exit', onExit);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (child.exitCode === null && child.signalCode === null && !(await answersPing('127.0.0.1', port)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (child.exitCode !== null || child.signalCode !== null || Date.now() >= deadline) {
      process.off('exit', onExit);
      child.kill('SIGKILL');
      await exit;
      if (attempt < 3) continue; // another process may have taken the free port first
      const log = existsSync(join(dataDir, 'redis.log')) ? readFileSync(join(dataDir, 'redis.log'), 'utf8').trim().split('\n').slice(-2).join(' | ') : '';
      throw new Error(`redis-server (${binary.path}) did not start on port ${port}: ${log}`);
    }
    writeFileSync(recordFile, JSON.stringify({ pid: child.pid!, port } satisfies ServerRecord));
    return {
      port,
      pid: child.pid!,
      url: `redis://127.0.0.1:${port}`,
      dataDir,
      binary: binary.source,
      reused: false,
      async stop() {
        process.off('exit', onExit);
        rmSync(recordFile, { force: true });
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM'); // Redis's clean shutdown: the AOF is flushed
        await exit;
      },
    };
  }
}
