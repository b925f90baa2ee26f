// Where local servers keep what outlives one run. Both folders are gitignored.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Data of the embedded servers, reused across runs: .data/postgres, .data/redis. */
export const DATA_DIR = process.env.COUPONS_DATA_DIR || join(REPO_ROOT, '.data');

/** Downloads made at install time (a redis-server unpacked from Debian's package): .cache/redis. */
export const CACHE_DIR = join(REPO_ROOT, '.cache');
