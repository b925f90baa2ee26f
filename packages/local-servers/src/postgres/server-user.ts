// PostgreSQL refuses to run as root. As root, its processes run as an unprivileged OS user (the
// machine's `postgres` if it has one, else `nobody`), from binaries and a data folder that user
// can reach: when the checkout itself is not readable by others (a home folder with mode 700),
// the binaries are copied to a readable temp folder first.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

/** The user Postgres runs as, or undefined when this process is not root (then it runs as us). */
export function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const users = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 4)
    .map(([name, , uid, gid]) => ({ name: name!, uid: Number(uid), gid: Number(gid) }));
  const user = users.find((u) => u.name === 'postgres') ?? users.find((u) => u.name === 'nobody');
  if (!user) throw new Error('running as root, and the machine has neither a `postgres` nor a `nobody` user for PostgreSQL to run as');
  return user;
}

/** Whether `user` can do `test <flag> path` (-x: run it, -w: write into it). */
export function userCan(user: ServerUser, flag: '-x' | '-w', path: string): boolean {
  return spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', path], { uid: user.uid, gid: user.gid }).status === 0;
}

/** A bin folder whose programs `user` can run: `binDir` itself, or a readable copy of its package folder. */
export function runnableBinDir(binDir: string, user: ServerUser | undefined, version: string): string {
  if (!user || userCan(user, '-x', join(binDir, 'postgres'))) return binDir;
  const packageDir = dirname(binDir); // native/: bin, lib, share travel together
  const copy = join(tmpdir(), `coupons-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    cpSync(packageDir, copy, { recursive: true, dereference: false });
    chmodSync(copy, 0o755);
  }
  return join(copy, 'bin');
}
