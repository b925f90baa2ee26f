import { ConfigError } from '../config/load-config.ts';

/** A reason the process cannot start, already phrased as one line for the operator. */
export class StartupError extends Error {
  override name = 'StartupError';
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'EAI_AGAIN']);

function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  const nested = (error as { errors?: unknown[] })?.errors?.[0];
  return nested ? codeOf(nested) : undefined;
}

/** Turns a failed Redis connection attempt into one actionable line. */
export function redisStartupError(url: string, cause: unknown): StartupError {
  const code = codeOf(cause) ?? (cause as Error)?.message ?? String(cause);
  return new StartupError(
    `Cannot reach Redis at ${safeUrl(url)} (${code}). Start Redis (README: "Quick start") or set REDIS_URL to a reachable server.`,
  );
}

/** Turns a failed Postgres connection attempt into one actionable line. */
export function postgresStartupError(url: string, cause: unknown): StartupError {
  const code = codeOf(cause);
  if (code === '3D000') {
    return new StartupError(`Database in ${safeUrl(url)} does not exist. Run \`pnpm run migrate\` first, or set DATABASE_URL.`);
  }
  if (code === '28P01' || code === '28000') {
    return new StartupError(`Postgres refused the credentials in DATABASE_URL (${safeUrl(url)}). Fix the user/password in DATABASE_URL.`);
  }
  if (code === '42P01') {
    return new StartupError(`Database in ${safeUrl(url)} has no tables. Run \`pnpm run migrate\` first.`);
  }
  const why = code && (NETWORK_CODES.has(code) || /^[0-9A-Z]{5}$/.test(code)) ? code : ((cause as Error)?.message ?? String(cause));
  return new StartupError(
    `Cannot reach Postgres at ${safeUrl(url)} (${why}). Start Postgres (README: "Quick start") or set DATABASE_URL to a reachable server.`,
  );
}

/** One line for any error that stops a process at start. */
export function describeStartupError(error: unknown): string {
  if (error instanceof StartupError || error instanceof ConfigError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return `Unexpected error at start: ${message.split('\n')[0]}`;
}
