import type { Request } from 'express';
import { userIdHeaderSchema } from '@coupons/shared/schemas';
import { HttpError } from '../errors/http-error.ts';

/** The caller's id from `X-User-Id` (set by the gateway): 401 when missing, 400 when not a UUID. */
export function requireUserId(req: Request): string {
  const raw = req.get('x-user-id');
  if (raw === undefined || raw.trim() === '') {
    throw new HttpError(401, 'MISSING_USER_ID', 'The X-User-Id header is required.');
  }
  const parsed = userIdHeaderSchema.safeParse(raw.trim());
  if (!parsed.success) throw new HttpError(400, 'INVALID_USER_ID', 'X-User-Id must be a UUID.');
  return parsed.data.toLowerCase();
}
