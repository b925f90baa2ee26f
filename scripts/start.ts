// `pnpm start`: migrate + seed, then one API and one worker, with the URLs printed.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { spawnService, waitUntilReady, type ServiceKind } from '@coupons/harness/processes';
import { loadConfig } from '@coupons/shared/config';
import { prepareDatabase } from '@coupons/shared/db';
import { connectRedis, postgresStartupError, runMain } from '@coupons/shared/runtime';

const SERVICES: ServiceKind[] = ['api', 'worker'];

await runMain('start', async (log) => {
  const config = loadConfig();
  (await connectRedis(config.REDIS_URL)).disconnect();
  await prepareDatabase(config.DATABASE_URL).catch((error: unknown) => {
    throw postgresStartupError(config.DATABASE_URL, error);
  });
  log.info('database migrated and seeded');

  const children = SERVICES.map((name) => {
    // Own process group: Ctrl-C reaches only this script, which then stops each child once, gracefully.
    const { child } = spawnService(name, process.env, { output: 'inherit', detached: true });
    child.on('exit', (code, signal) => {
      if (!stopping) {
        log.error({ service: name, code, signal }, `${name} exited; stopping the rest`);
        stopAll(code ?? 1);
      }
    });
    return child;
  });

  let stopping = false;
  let exitCode = 0;
  let remaining = children.length;
  for (const child of children) child.on('exit', () => --remaining === 0 && process.exit(exitCode));
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const child of children) child.kill('SIGTERM');
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  process.on('exit', () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

  const base = `http://localhost:${config.PORT}`;
  await waitUntilReady(base, { timeoutMs: 30_000, intervalMs: 200 });
  process.stdout.write(
    [
      '',
      `  Coupon event backend running`,
      `  API      ${base}`,
      `  Docs     ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  Metrics  ${base}/metrics`,
      `  Try      curl -i -X POST ${base}/v1/coupons/A0001/issue-requests -H "X-User-Id: $(cat /proc/sys/kernel/random/uuid)"`,
      `  Stop     Ctrl-C`,
      '',
    ].join('\n') + '\n',
  );
});
