import type { ErrorRequestHandler } from 'express';
import { HttpError } from '../errors/http-error.ts';
import type { ProblemCodeWith } from '../errors/problem-catalog.ts';

/**
 * Express decodes path parameters while matching, before any handler runs, so a malformed
 * percent-encoding (`/v1/coupons/%E0%A4%A/...`) surfaces as a URIError. Mounted after a
 * router's routes, this answers with the code of the parameter the client got wrong
 * instead of a generic 400.
 */
export function malformedParamProblem(code: ProblemCodeWith<400>, what: string): ErrorRequestHandler {
  return (error, _req, _res, next) => {
    next(error instanceof URIError ? new HttpError(code, `Invalid ${what}: malformed percent-encoding.`) : error);
  };
}
