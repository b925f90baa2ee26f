import { PROBLEMS, type ProblemCode, type ProblemStatus } from './problem-catalog.ts';

/**
 * An error that is the client's answer: a code from the problem catalog (which fixes its status
 * and title), a human detail (the catalog's default unless given) and extra headers.
 */
export class HttpError<C extends ProblemCode = ProblemCode> extends Error {
  override name = 'HttpError';
  readonly status: ProblemStatus<C>;
  readonly title: string;
  constructor(
    readonly code: C,
    readonly detail: string = PROBLEMS[code].detail,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }
}

/** 503 UNAVAILABLE: Redis or Postgres cannot be reached right now; the client retries later. */
export function unavailable(retryAfterSeconds: number, what: string): HttpError<'UNAVAILABLE'> {
  return new HttpError('UNAVAILABLE', `${what} is unavailable; retry later.`, {
    'Retry-After': String(retryAfterSeconds),
  });
}
