// `pnpm test` on a machine with no Redis or Postgres running: vitest's global setup starts the
// embedded ones (see ensureLocalServers) before any test file runs; every test environment builds
// on TEST_REDIS_URL / TEST_DATABASE_URL, which the test workers inherit. With servers running (CI,
// the development machines) it starts nothing.
import { ensureLocalServers } from './ensure-local-servers.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const servers = await ensureLocalServers({ purpose: 'test', log: (line) => process.stderr.write(`test servers: ${line}\n`) });
  for (const choice of [servers.redis, servers.postgres]) if (choice.source === 'embedded') process.stderr.write(`test servers: ${choice.describe}\n`);
  return () => servers.stop();
}
