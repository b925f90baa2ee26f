import type { ZodType } from 'zod';
import { HttpError } from '../errors/http-error.ts';
import type { ProblemCodeWith } from '../errors/problem-catalog.ts';

/** Parses a value with a zod schema or answers 400 with the given code and the first issue. */
export function parseOr400<T>(schema: ZodType<T>, value: unknown, code: ProblemCodeWith<400>, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` (${issue.path.join('.')})` : '';
  throw new HttpError(code, `Invalid ${what}${where}: ${issue?.message ?? 'invalid'}.`);
}
