// The flags of every tool: node:util's parseArgs, strict, and one clear line for anything wrong.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AUTH_MODES, type AuthMode } from '@coupons/shared/config';

/** Bad flags: `runCli` prints the message as one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The flag values of argv (without node and the script; a leading `--`, as pnpm passes it, is
 * skipped). No positionals; an unknown or malformed flag is a UsageError of one line.
 */
export function readFlags<const T extends NonNullable<ParseArgsConfig['options']>>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: argv[0] === '--' ? argv.slice(1) : [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs explains itself in several sentences (how to pass a positional after --): the first is the point.
    throw new UsageError(`${(error as Error).message.split(/\.(\s|$)/)[0]} (see --help)`);
  }
}

/** `--flag N`: undefined when absent, else a whole number from `min` to `max`. */
export function wholeNumber(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--flag A,B,...`: each trimmed part through `item`, which throws a UsageError for a bad one. */
export function commaList<T>(value: string, item: (part: string) => T): T[] {
  return value.split(',').map((part) => item(part.trim()));
}

/** The `--auth MODE` line of a tool's --help. */
export const AUTH_FLAG_USAGE = `--auth MODE           the API's AUTH_MODE for the run: trusted-header (default: X-User-Id as is),
                        jwt (a bearer token per user, minted with a key pair made for the run) or
                        gateway (X-User-Id signed with a secret made for the run)`;

/** `--auth MODE`: the identity mode a tool runs its cluster in (default trusted-header). */
export function authMode(value: string | undefined): AuthMode {
  if (value === undefined) return 'trusted-header';
  if (!(AUTH_MODES as readonly string[]).includes(value)) throw new UsageError(`--auth must be one of ${AUTH_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  return value as AuthMode;
}
