/** An error that is the client's answer: status, stable code, and a human detail. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** 503 UNAVAILABLE: Redis or Postgres cannot be reached right now; the client retries later. */
export function unavailable(retryAfterSeconds: number, what: string): HttpError {
  return new HttpError(503, 'UNAVAILABLE', `${what} is unavailable; retry later.`, {
    'Retry-After': String(retryAfterSeconds),
  });
}
