import type { Request } from 'express';
import { userIdHeaderSchema } from '@coupons/shared/schemas';
import { HttpError } from '../errors/http-error.ts';

/** The caller's id from `X-User-Id` (set by the gateway): 401 when missing, 400 when not a UUID. */
export function requireUserId(req: Request): string {
  const raw = req.get('x-user-id');
  if (raw === undefined || raw.trim() === '') {
    throw new HttpError('MISSING_USER_ID');
  }
  const parsed = userIdHeaderSchema.safeParse(raw.trim());
  if (!parsed.success) throw new HttpError('INVALID_USER_ID');
  return parsed.data.toLowerCase();
}
