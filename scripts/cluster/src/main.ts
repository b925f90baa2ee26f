// `pnpm cluster --api 2 --workers 4`: migrate + seed, then N API processes behind one port and M
// worker processes, with where it listens printed. Ctrl-C (or SIGTERM) stops them gracefully.
import { onFirstSignal, parseCommandLine } from '@coupons/harness/cli';
import { loadConfig } from '@coupons/shared/config';
import { prepareDatabase } from '@coupons/shared/db';
import { connectRedis, postgresStartupError, runMain } from '@coupons/shared/runtime';
import { startCluster, type RunningCluster } from './cluster.ts';
import { parseClusterArgs, USAGE } from './cli-args.ts';

const { apis, workers } = parseCommandLine({ tool: 'cluster', usage: USAGE, parse: parseClusterArgs, usageOnError: true });

await runMain('cluster', async (log) => {
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
      process.exit(failed.length ? 1 : exitCode);
    })());
  onFirstSignal(() => {
    signalled = true;
    if (cluster) void stop(0);
  });

  cluster = await startCluster({
    apis,
    workers,
    port: config.PORT,
    env: process.env,
    onLine: (name, line) => process.stdout.write(`[${name}] ${line}\n`),
  });
  process.on('exit', () => cluster?.kill());
  if (signalled) return void stop(0);
  void cluster.unexpectedExit.then((exit) => {
    log.error({ replica: exit.name, code: exit.code, signal: exit.signal }, `${exit.name} exited; stopping the rest`);
    void stop(1);
  });

  const base = `http://localhost:${cluster.port}`;
  const processes = cluster.replicas.map((replica, i) => `${replica.name} (pid ${replica.pid}${replica.kind === 'api' ? `, port ${cluster!.apiPorts[i]}` : ''})`);
  process.stdout.write(
    [
      '',
      `  Cluster listening on ${base} (docs: ${base}/docs)`,
      `  ${apis} API process${apis === 1 ? '' : 'es'} behind that port, ${workers} worker process${workers === 1 ? '' : 'es'}:`,
      `  ${processes.join(', ')}`,
      `  Stop     Ctrl-C`,
      '',
    ].join('\n') + '\n',
  );
});
