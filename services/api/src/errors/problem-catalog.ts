/**
 * Every problem the API answers with, in one typed list: its stable `code`, HTTP status, RFC 9457
 * title and default detail. `HttpError` takes a code from here (status and title follow from it),
 * the OpenAPI document lists each route's problems from here, and the contract tests derive the
 * status they expect from here. A code that is not in this list cannot be sent (`ProblemCode`).
 *
 * Titles are the status's reason phrase, so one status has one title (RFC 9457: the title does
 * not change from occurrence to occurrence). Details are the default human text; a caller may
 * give a more precise one (naming the coupon, the limit, …).
 */
export interface ProblemSpec {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** The answer carries Retry-After: the client should come back later (503s). */
  readonly retryAfter?: true;
}

export const PROBLEMS = {
  // 400: the request cannot be one the API serves.
  INVALID_USER_ID: { status: 400, title: 'Bad Request', detail: 'X-User-Id must be a UUID, and not the nil or max UUID.' },
  INVALID_COUPON_CODE: { status: 400, title: 'Bad Request', detail: 'Invalid coupon code.' },
  INVALID_TICKET_ID: { status: 400, title: 'Bad Request', detail: 'Invalid ticket id.' },
  INVALID_BODY: { status: 400, title: 'Bad Request', detail: 'Invalid request body.' },
  INVALID_QUERY: { status: 400, title: 'Bad Request', detail: 'Invalid query parameters.' },
  MALFORMED_JSON: { status: 400, title: 'Bad Request', detail: 'The request body is not valid JSON.' },
  BAD_REQUEST_BODY: { status: 400, title: 'Bad Request', detail: 'The request body could not be read.' },
  BAD_REQUEST: { status: 400, title: 'Bad Request', detail: 'The request could not be processed.' },
  // 401: no identity, or one the API cannot trust (auth/: which one depends on AUTH_MODE).
  MISSING_USER_ID: { status: 401, title: 'Unauthorized', detail: 'The X-User-Id header is required.' },
  UNVERIFIED_USER_ID: { status: 401, title: 'Unauthorized', detail: 'X-User-Id is accepted only as the gateway sets it.' },
  MISSING_TOKEN: { status: 401, title: 'Unauthorized', detail: 'An Authorization: Bearer token is required.' },
  INVALID_TOKEN: { status: 401, title: 'Unauthorized', detail: 'The bearer token is not valid.' },
  TOKEN_EXPIRED: { status: 401, title: 'Unauthorized', detail: 'The bearer token has expired.' },
  // 401 on the admin API (operations port): the operator's ADMIN_TOKEN (services/api/src/admin/).
  MISSING_ADMIN_TOKEN: { status: 401, title: 'Unauthorized', detail: 'An Authorization: Bearer <ADMIN_TOKEN> header is required.' },
  INVALID_ADMIN_TOKEN: { status: 401, title: 'Unauthorized', detail: 'The bearer token is not an admin token.' },
  // 403: a dashboard session's unsafe request without its CSRF token, or from another origin (services/api/src/dashboard/).
  CSRF_REJECTED: { status: 403, title: 'Forbidden', detail: 'An unsafe request from the dashboard needs its X-CSRF-Token header and the same origin.' },
  // 404
  COUPON_NOT_FOUND: { status: 404, title: 'Not Found', detail: 'No coupon with this code.' },
  TICKET_NOT_FOUND: { status: 404, title: 'Not Found', detail: 'No such ticket for this user.' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not Found', detail: 'No route for this method and path.' },
  // 409: the coupon's state says no.
  SOLD_OUT: { status: 409, title: 'Conflict', detail: 'The coupon is sold out.' },
  EVENT_NOT_OPEN: { status: 409, title: 'Conflict', detail: 'The coupon is not open for requests now.' },
  EVENT_PAUSED: { status: 409, title: 'Conflict', detail: 'The event is paused; retry later.', retryAfter: true },
  // 409 on the admin API: the change conflicts with the coupon's state.
  COUPON_EXISTS: { status: 409, title: 'Conflict', detail: 'A coupon with this code already exists.' },
  EVENT_STARTED: { status: 409, title: 'Conflict', detail: 'The event has opened: quantities and startsAt can no longer change.' },
  EVENT_CLOSED: { status: 409, title: 'Conflict', detail: 'The event is closed; a close is final.' },
  // 413, 415: a body the API does not read.
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Content Too Large', detail: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', detail: 'The request body must be application/json (or empty).' },
  UNSUPPORTED_ENCODING: { status: 415, title: 'Unsupported Media Type', detail: 'The request body encoding is not supported.' },
  // 500: a bug of ours (logged).
  INTERNAL: { status: 500, title: 'Internal Server Error', detail: 'Something went wrong on our side.' },
  // 503: come back later.
  OVERLOADED: { status: 503, title: 'Service Unavailable', detail: 'Too many requests are waiting; retry later.', retryAfter: true },
  UNAVAILABLE: { status: 503, title: 'Service Unavailable', detail: 'Redis or Postgres is unavailable; retry later.', retryAfter: true },
} as const satisfies Record<string, ProblemSpec>;

export type ProblemCode = keyof typeof PROBLEMS;

/** The HTTP status of a code, as a literal type (`ProblemStatus<'SOLD_OUT'>` is 409). */
export type ProblemStatus<C extends ProblemCode> = (typeof PROBLEMS)[C]['status'];

/** The codes answered with a given status (`ProblemCodeWith<400>` is every 400 code). */
export type ProblemCodeWith<S extends number> = { [C in ProblemCode]: ProblemStatus<C> extends S ? C : never }[ProblemCode];

export const PROBLEM_CODES = Object.keys(PROBLEMS) as ProblemCode[];

/** The problem's `type` URI: one stable URI per code (`SOLD_OUT` → …/problems/sold-out). */
export function problemType(code: ProblemCode): string {
  return `https://coupons.example/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}
