// A PostgreSQL server of our own for a machine that runs none: initdb once into .data/postgres
// (reused across runs), then `postgres` on a free port, listening on 127.0.0.1 only, with trust
// auth for the `postgres` superuser (the same as the development machines' server). It stops with
// this process (fast shutdown); a server left running by a run that was SIGKILLed is reused, and
// the stale postmaster.pid of one that died is cleared.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../free-port.ts';
import { DATA_DIR } from '../paths.ts';
import { requirePostgresBinaries, postgresVersion } from './postgres-binaries.ts';
import { runnableBinDir, serverUser, userCan, type ServerUser } from './server-user.ts';

export interface LocalPostgres {
  port: number;
  /** The server's process id. */
  pid: number;
  dataDir: string;
  version: string;
  /** True when a server this data folder already had running was reused (then stop() leaves it). */
  reused: boolean;
  /** Superuser URL of `database`. */
  url(database: string): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether `pid` is a postgres process (after a reboot the pid in a stale file may be anyone's). */
function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the pid
  }
}

/** The pid and port a running server wrote into postmaster.pid; undefined when none runs (a stale file is removed). */
function runningServer(dataDir: string): { pid: number; port: number } | undefined {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pid, , , port] = readFileSync(pidFile, 'utf8').split('\n');
  if (pid && isAlive(Number(pid)) && isPostgres(Number(pid))) return { pid: Number(pid), port: Number(port) };
  rmSync(pidFile, { force: true }); // left by a server killed with SIGKILL
  return undefined;
}

async function untilReady(port: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      const why = exited();
      if (why) throw new Error(why);
      if (Date.now() > deadline) throw new Error(`PostgreSQL on port ${port} did not accept connections within ${READY_TIMEOUT_MS / 1000} s: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

function logTail(logFile: string): string {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
}

function prepareDataDir(dataDir: string, user: ServerUser | undefined): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    if (!userCan(user, '-w', dataDir)) {
      throw new Error(`PostgreSQL runs as ${user.name} (not root) and cannot reach ${dataDir}; set COUPONS_DATA_DIR to a folder ${user.name} can reach, or run as a normal user`);
    }
  }
}

export async function startLocalPostgres(options: { dataDir?: string } = {}): Promise<LocalPostgres> {
  const dataDir = options.dataDir ?? join(DATA_DIR, 'postgres');
  const binaries = requirePostgresBinaries();
  const version = postgresVersion(binaries);
  const user = serverUser();
  const bin = runnableBinDir(binaries.dir, user, version);
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  const url = (port: number) => (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;

  const running = existsSync(dataDir) ? runningServer(dataDir) : undefined;
  if (running) {
    return { ...running, dataDir, version, reused: true, url: url(running.port), stop: async () => {} };
  }

  prepareDataDir(dataDir, user);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const initdb = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], { ...asUser, encoding: 'utf8' });
    if (initdb.status !== 0) throw new Error(`initdb into ${dataDir} failed: ${(initdb.stderr || initdb.stdout || String(initdb.error)).trim().split('\n').slice(-2).join(' | ')}`);
  }

  const logFile = join(dataDir, '..', 'postgres.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const log = openSync(logFile, 'a');
    if (user) chownSync(logFile, user.uid, user.gid);
    const child: ChildProcess = spawn(
      join(bin, 'postgres'),
      ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      { ...asUser, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    const exit = once(child, 'exit');
    const gone = () => (child.exitCode !== null || child.signalCode !== null ? `PostgreSQL exited at start (${child.exitCode ?? child.signalCode}): ${logTail(logFile)}` : undefined);
    // Fast shutdown (SIGINT) with this process: sessions are ended, a checkpoint is written.
    const onExit = () => child.kill('SIGINT');
    process.on('exit', onExit);
    try {
      await untilReady(port, gone);
    } catch (error) {
      process.off('exit', onExit);
      child.kill('SIGKILL');
      await exit;
      if (attempt >= 3 || !/could not bind|Address already in use/.test(logTail(logFile))) throw error;
      continue; // another process took the free port first
    }
    return {
      port,
      pid: child.pid!,
      dataDir,
      version,
      reused: false,
      url: url(port),
      async stop() {
        process.off('exit', onExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exit;
        clearTimeout(timer);
      },
    };
  }
}
