// AUTH_MODE=trusted-header: X-User-Id as sent. Anyone who reaches the API can be anyone, so this is
// for development and the tests, or behind a gateway that always overwrites the header.
import type { Request } from 'express';
import { GATEWAY_HEADERS } from '@coupons/shared/auth';
import { HttpError } from '../errors/http-error.ts';
import { canonicalUserId } from './user-id.ts';

/** X-User-Id as sent (trimmed), or 401 MISSING_USER_ID. */
export function userIdHeader(req: Request): string {
  const raw = req.get(GATEWAY_HEADERS.userId)?.trim();
  if (!raw) throw new HttpError('MISSING_USER_ID');
  return raw;
}

/** The user X-User-Id names: 401 when missing, 400 INVALID_USER_ID when not a UUID, or the nil or max one. */
export function parseUserIdHeader(raw: string): string {
  const userId = canonicalUserId(raw);
  if (userId === undefined) throw new HttpError('INVALID_USER_ID');
  return userId;
}

export const identifyByHeader = (req: Request): string => parseUserIdHeader(userIdHeader(req));
