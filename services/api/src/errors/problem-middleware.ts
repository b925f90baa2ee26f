import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { HttpError, unavailable } from './http-error.ts';
import { dependencyDown } from './dependency-failure.ts';
import { problemType } from './problem-catalog.ts';

const serialised = new WeakMap<HttpError, string>();

function problemBody(error: HttpError): string {
  let body = serialised.get(error);
  if (body === undefined) {
    body = JSON.stringify({
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.detail,
      code: error.code,
    });
    serialised.set(error, body);
  }
  return body;
}

/** Writes an RFC 9457 problem document (a reused HttpError is serialised once). */
export function sendProblem(res: Response, error: HttpError): void {
  res.status(error.status);
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.send(problemBody(error));
}

/** Maps what express's body parser throws to the client's fault it really is. */
function bodyParserProblem(error: { type?: string; status?: number; limit?: number }): HttpError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new HttpError('MALFORMED_JSON');
    case 'entity.too.large':
      return new HttpError('PAYLOAD_TOO_LARGE', `The request body is larger than ${error.limit} bytes.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError('UNSUPPORTED_ENCODING');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new HttpError('BAD_REQUEST_BODY');
    default:
      // Any other client error a library raises (none of the parsers configured here does) is
      // the generic 400: the catalog, not the library, decides what the API answers.
      return error.status && error.status >= 400 && error.status < 500 ? new HttpError('BAD_REQUEST') : undefined;
  }
}

export function notFoundHandler(): RequestHandler {
  // The catalog's own detail: an error never echoes the request's path (or anything else the client sent).
  return (_req, _res, next) => next(new HttpError('ROUTE_NOT_FOUND'));
}

/** The one error middleware: known errors as problems, dependency outages as 503, anything else a logged 500. */
export function problemMiddleware(log: Logger, retryAfterSeconds: number): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let problem: HttpError | undefined = error instanceof HttpError ? error : bodyParserProblem(error);
    if (!problem) {
      const dependency = dependencyDown(error);
      if (dependency) {
        log.warn({ err: (error as Error).message, dependency, route: req.path }, 'dependency unavailable');
        problem = unavailable(retryAfterSeconds, dependency);
      }
    }
    if (!problem) {
      log.error({ err: error, method: req.method, path: req.path }, 'unhandled error');
      problem = new HttpError('INTERNAL');
    }
    if (res.headersSent) return res.end();
    sendProblem(res, problem);
  };
}
