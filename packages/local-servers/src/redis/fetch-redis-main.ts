// `pnpm install`'s postinstall step: a redis-server into .cache/redis when none is on PATH.
// Never fails the install (exit 0 whatever happens); says in one line what it did.
// `--force`: fetch even when redis-server is on PATH (CI uses it to test the cached copy).
import { fetchRedisIntoCache } from './fetch-redis.ts';

const outcome = await fetchRedisIntoCache({ force: process.argv.includes('--force') }).catch((error: Error) => ({ skipped: error.message }));
if (outcome === 'fetched') process.stdout.write('local-servers: redis-server unpacked into .cache/redis (Debian redis-tools)\n');
else if (typeof outcome === 'object') process.stdout.write(`local-servers: no redis-server fetched (${outcome.skipped}); pnpm start will say how to install one\n`);
