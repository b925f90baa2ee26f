/** A backing service the API and the worker cannot work without. */
export type Dependency = 'Redis' | 'Postgres';

/**
 * Which client an error left: set by the wrapper around that client (see
 * db/postgres-error-origin.ts), read by whoever classifies failures. The origin of an error is
 * a fact only the call site knows; neither its message nor the port it came from says it
 * reliably (a socket error names no client, a proxy or a non-default port hides the service).
 *
 * A registered symbol, so two copies of this module (two installs of the package) still agree.
 */
const ORIGIN = Symbol.for('@coupons/shared:dependency-origin');

/**
 * Only for a rejection that cannot carry the marker itself (not an object, or frozen): the
 * original stays reachable as `cause`. Errors that can carry it are marked in place instead, so
 * their class and fields (pg's DatabaseError with its SQLSTATE, for a constraint violation)
 * reach every existing catch unchanged.
 */
export class DependencyError extends Error {
  override name = 'DependencyError';
  constructor(readonly dependency: Dependency, cause: unknown) {
    super(`${dependency} client failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Marks `error` as having come out of `dependency`'s client and returns what to rethrow: the
 * same error in nearly every case. The marker is non-enumerable, so logs and JSON stay as they
 * were, and the first client to mark an error keeps it (the innermost call site knows best).
 */
export function markDependencyError(error: unknown, dependency: Dependency): unknown {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) {
    return error instanceof DependencyError ? error : new DependencyError(dependency, error);
  }
  if (!Object.hasOwn(error, ORIGIN)) {
    Object.defineProperty(error, ORIGIN, { value: dependency, enumerable: false, configurable: true, writable: false });
  }
  return error;
}

/** The client an error came out of, if a wrapper marked it; undefined for any other error. */
export function failedDependency(error: unknown): Dependency | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if (error instanceof DependencyError) return error.dependency;
  return (error as { [ORIGIN]?: Dependency })[ORIGIN];
}
