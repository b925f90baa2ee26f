import { userIdSchema } from '@coupons/shared/schemas';

/** A user id in its one form (lower case), or undefined when `raw` is not a UUID or is the nil or max one. */
export function canonicalUserId(raw: unknown): string | undefined {
  const parsed = userIdSchema.safeParse(typeof raw === 'string' ? raw.trim() : raw);
  return parsed.success ? parsed.data.toLowerCase() : undefined;
}
