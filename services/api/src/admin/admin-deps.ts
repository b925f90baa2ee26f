import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { CouponRow, Database } from '@coupons/shared/db';
import type { CouponRedis, CouponScripts } from '@coupons/shared/redis';
import { HttpError } from '../errors/http-error.ts';
import { toCouponView } from '../routes/coupons.ts';

/** What the admin use cases need: Postgres (the truth and the audit), Redis (the mirror, live figures, the change channel). */
export interface AdminDeps {
  config: Pick<Config, 'REDIS_PREFIX' | 'RETRY_AFTER_SECONDS' | 'EVENT_RETENTION_SECONDS'>;
  log: Logger;
  db: Kysely<Database>;
  redis: CouponRedis;
  scripts: CouponScripts;
  /** Tells every API and worker process that the coupon changed (pub/sub); set by createApp. */
  announce(couponCode: string): Promise<void>;
}

/** A coupon as an audit row records it: what Postgres holds, without anything that changes by the second. */
export function auditSnapshot(row: CouponRow) {
  return {
    ...toCouponView(row),
    pausedAt: row.paused_at?.toISOString() ?? null,
    closedAt: row.closed_at?.toISOString() ?? null,
  };
}

/**
 * The table's CHECK that a window ends after it starts (coupon_window_ordered) is the one judge
 * when a side is Postgres's `now()` (a default startsAt): its refusal is the client's 400.
 */
export async function windowChecked<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if ((error as { constraint?: string }).constraint === 'coupon_window_ordered') {
      throw new HttpError('INVALID_BODY', 'Invalid request body (endsAt): endsAt must be after startsAt.');
    }
    throw error;
  }
}

/** Announces a committed change; a lost announcement only waits for the periodic reload, so it never fails the call. */
export async function announceQuietly(deps: AdminDeps, couponCode: string): Promise<void> {
  try {
    await deps.announce(couponCode);
  } catch (error) {
    deps.log.warn({ coupon: couponCode, err: (error as Error).message }, 'coupon change not announced; processes see it at their next periodic reload');
  }
}
