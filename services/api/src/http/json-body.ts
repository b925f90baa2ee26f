import type { Request } from 'express';
import { HttpError } from '../errors/http-error.ts';

/**
 * A body is optional, but one that is sent must be JSON: express.json() leaves any other
 * media type unread, and silently ignoring what a client sent would hide its mistake.
 */
export function rejectNonJsonBody(req: Request): void {
  const carriesBytes = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (req.body === undefined && carriesBytes) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE');
  }
}
