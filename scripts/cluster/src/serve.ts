// What `pnpm start` and `pnpm cluster` share: migrate + seed, then the replicas, their lines on
// stdout, a banner once every one is ready; Ctrl-C (or SIGTERM) stops them once, gracefully, and
// a replica that dies on its own stops the rest.
import { onFirstSignal } from '@coupons/harness/cli';
import { ensureLocalServers, type LocalServers } from '@coupons/local-servers';
import { loadConfig, type Config } from '@coupons/shared/config';
import { prepareDatabase } from '@coupons/shared/db';
import { connectRedis, postgresStartupError, runMain } from '@coupons/shared/runtime';
import { startCluster, type RunningCluster } from './cluster.ts';

export interface ServeOptions {
  /** How the start-up and stop lines name this command. */
  tool: string;
  apis: number;
  workers: number;
  /** 'balanced': the APIs behind one TCP balancer on PORT; 'direct': the one API listens on PORT itself. */
  front: 'balanced' | 'direct';
  /** The lines printed once everything is ready; `servers`: a line per embedded server (none when all are external). */
  banner(cluster: RunningCluster, config: Config, servers: string[]): string[];
}

export function serve(options: ServeOptions): Promise<void> {
  return runMain(options.tool, async (log) => {
    // No Redis or Postgres on the default ports and none configured: embedded ones (see the README).
    const servers: LocalServers = await ensureLocalServers({ purpose: 'run', log: (line) => log.info(line) });
    const config = loadConfig();
    (await connectRedis(config.REDIS_URL)).disconnect();
    await prepareDatabase(config.DATABASE_URL).catch((error: unknown) => {
      throw postgresStartupError(config.DATABASE_URL, error);
    });
    log.info('database migrated and seeded');

    // Each replica stops within its own SHUTDOWN_TIMEOUT_MS, so the stop always ends.
    let cluster: RunningCluster | null = null;
    let signalled = false;
    let stopping: Promise<void> | null = null;
    const stop = (exitCode: number) =>
      (stopping ??= (async () => {
        const exits = await cluster!.stop();
        const failed = exits.filter((exit) => exit.code !== 0);
        for (const exit of failed) log.error({ replica: exit.name, code: exit.code, signal: exit.signal }, `${exit.name} did not stop cleanly`);
        log.info(`stopped ${exits.length} processes`);
        await servers.stop();
        process.exit(failed.length ? 1 : exitCode);
      })());
    onFirstSignal(() => {
      signalled = true;
      if (cluster) void stop(0);
    });

    cluster = await startCluster({
      apis: options.apis,
      workers: options.workers,
      port: config.PORT,
      opsPort: config.OPS_PORT,
      front: options.front,
      env: process.env,
      onLine: (name, line) => process.stdout.write(`[${name}] ${line}\n`),
    });
    process.on('exit', () => cluster?.kill());
    if (signalled) return void stop(0);
    void cluster.unexpectedExit.then((exit) => {
      log.error({ replica: exit.name, code: exit.code, signal: exit.signal }, `${exit.name} exited; stopping the rest`);
      void stop(1);
    });
    const serverLines = [servers.redis, servers.postgres].filter((s) => s.source === 'embedded').map((s) => s.describe);
    process.stdout.write(['', ...options.banner(cluster, config, serverLines).map((line) => `  ${line}`), ''].join('\n') + '\n');
  });
}
