// Coupons created or changed at run time (issue 13): the admin API announces each one, and the
// worker checks that coupon's Redis state at once instead of at the next reconcile pass.
import type { RedisClient } from '@coupons/shared/redis';
import { couponKeys, CouponChangeSubscription } from '@coupons/shared/redis';
import { withCouponLock } from '../lock/coupon-lock.ts';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';
import { healIfBehind } from './heal-from-postgres.ts';

/**
 * One subscription per worker process. An announced coupon is checked under its lock
 * (healIfBehind): a new one gets its mirror from Postgres, a run state that reached Postgres but
 * not Redis is written. If another worker holds the lock, its drain (or its own check) does it.
 * After a resubscription (messages may have been lost) `checkAll` runs a whole reconcile pass;
 * the periodic pass (RECONCILE_INTERVAL_MS) stays the safety net.
 */
export async function followCouponChanges(deps: WorkerDeps, connection: RedisClient, checkAll: () => void): Promise<CouponChangeSubscription> {
  const { config, log } = deps;
  connection.on('error', (err: Error) => log.warn({ err: err.message }, 'redis (coupon changes) connection error'));
  return CouponChangeSubscription.start(connection, config.REDIS_PREFIX, (couponCode) => {
    if (couponCode === undefined) {
      checkAll();
      return;
    }
    const keys = couponKeys(config.REDIS_PREFIX, couponCode);
    withCouponLock(scriptsOf(deps), couponCode, config.LOCK_LEASE_MS, log, () => healIfBehind(deps, couponCode, keys)).catch((error: Error) =>
      log.warn({ coupon: couponCode, err: error.message }, 'check of a changed coupon failed; the reconciler retries'),
    );
  });
}
