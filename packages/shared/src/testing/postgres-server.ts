import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, postgresVersion, requirePostgresBinaries, runnableBinDir, serverUser } from '@coupons/local-servers';

const run = promisify(execFile);

/**
 * A private PostgreSQL server for tests that stop or crash Postgres: initdb into a temp dir,
 * its own port, trust auth for `postgres`. Never the shared server on 5432.
 *
 * As root it runs as an unprivileged OS user (`postgres`, else `nobody`: Postgres refuses to run as root).
 */
export interface PostgresServer {
  port: number;
  /** Superuser URL of `database` on this server. */
  url(database: string): string;
  readonly running: boolean;
  /**
   * `fast`: a clean shutdown (sessions are terminated, a checkpoint is written).
   * `immediate`: every server process quits at once, as in a crash; the next start recovers from WAL.
   */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data dir; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** The end of the server log. */
  logTail(lines?: number): Promise<string>;
  /** Stops it (immediate) if running and removes its dir. Idempotent. */
  close(): Promise<void>;
}

export async function startPostgresServer(): Promise<PostgresServer> {
  const binaries = requirePostgresBinaries();
  const user = serverUser();
  const bin = runnableBinDir(binaries.dir, user, postgresVersion(binaries));
  const dir = await mkdtemp(join(tmpdir(), 'chaos-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const pg = (tool: string, args: string[]) => run(join(bin, tool), args, user ? { uid: user.uid, gid: user.gid } : {});
  let port = 0;
  let running = false;

  const start = async () => {
    // fsync off: we crash the server processes, never the machine, and what a process wrote
    // is in the OS's cache either way; it keeps a chaos run off the shared disk's latency.
    const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await pg('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
    running = true;
  };

  const server: PostgresServer = {
    get port() {
      return port;
    },
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },
    async stop(mode) {
      if (!running) return;
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart() {
      if (running) throw new Error('postgres is still running');
      await start();
    },
    async logTail(lines = 20) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      return log.split('\n').slice(-lines - 1).join('\n');
    },
    async close() {
      await server.stop('immediate').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    if (user) await chown(dir, user.uid, user.gid);
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    // Another process may take the free port first: then the start fails, and we try another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await start();
        return server;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    await server.close();
    throw new Error(`could not start a private PostgreSQL in ${dir}: ${(error as Error).message}`);
  }
}
