// At install time, on a machine with no redis-server on PATH: Debian's redis-tools package (which
// holds redis-server) and the two libraries it links, downloaded with apt-get and unpacked with
// dpkg-deb into .cache/redis, no root needed and nothing installed system-wide. `pnpm start` then
// needs no network. Fails soft: without apt (macOS, other distributions) the start-up line says
// how to install Redis instead.
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cachedRedis, findRedisServer, REDIS_CACHE_DIR } from './redis-binary.ts';

const run = promisify(execFile);

const PACKAGES = ['redis-tools', 'libjemalloc2', 'liblzf1'];

export type FetchOutcome = 'on PATH' | 'cached' | 'fetched' | { skipped: string };

export async function fetchRedisIntoCache(options: { force?: boolean; root?: string } = {}): Promise<FetchOutcome> {
  const root = options.root ?? REDIS_CACHE_DIR;
  if (!options.force && findRedisServer()?.source === 'PATH') return 'on PATH';
  if (cachedRedis(root)) return 'cached';
  if (process.platform !== 'linux') return { skipped: `no Debian packages on ${process.platform}` };
  await mkdir(dirname(root), { recursive: true });
  const debs = await mkdtemp(join(dirname(root), 'redis-debs-'));
  try {
    await run('apt-get', ['download', ...PACKAGES], { cwd: debs, timeout: 120_000 });
    await mkdir(root, { recursive: true });
    for (const deb of (await readdir(debs)).filter((file) => file.endsWith('.deb'))) {
      await run('dpkg-deb', ['-x', join(debs, deb), root], { timeout: 60_000 });
    }
    const cached = cachedRedis(root);
    if (!cached) return { skipped: 'the packages held no redis-server' };
    const check = spawnSync(cached.path, ['--version'], { argv0: 'redis-server', env: { ...process.env, ...cached.env }, encoding: 'utf8' });
    if (check.status !== 0) throw new Error( `the unpacked redis-server does not run: ${(check.stderr || String(check.error)).trim()}`);
    return 'fetched';
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    return { skipped: (error as Error).message.split('\n')[0]! };
  } finally {
    await rm(debs, { recursive: true, force: true });
  }
}
