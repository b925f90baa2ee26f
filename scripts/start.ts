// `pnpm start`: migrate + seed, then one API and one worker, with the URLs printed.
// Ctrl-C (or SIGTERM) stops both gracefully.
import { spawn, type ChildProcess } from 'node:child_process';
import { loadConfig } from '@coupons/shared/config';
import { prepareDatabase } from '@coupons/shared/db';
import { connectRedis, postgresStartupError, runMain } from '@coupons/shared/runtime';
import { waitFor } from '@coupons/shared/testing';

const SERVICES = {
  api: 'services/api/src/main.ts',
  worker: 'services/worker/src/main.ts',
} as const;

await runMain('start', async (log) => {
  const config = loadConfig();
  (await connectRedis(config.REDIS_URL)).disconnect();
  await prepareDatabase(config.DATABASE_URL).catch((error: unknown) => {
    throw postgresStartupError(config.DATABASE_URL, error);
  });
  log.info('database migrated and seeded');

  const children: ChildProcess[] = Object.entries(SERVICES).map(([name, entry]) => {
    // Own process group: Ctrl-C reaches only this script, which then stops each child once, gracefully.
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { stdio: 'inherit', env: process.env, detached: true });
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
  await waitFor(() => fetch(`${base}/readyz`).then((res) => res.ok, () => false), { timeoutMs: 30_000, intervalMs: 200, message: 'the API to be ready' });
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
