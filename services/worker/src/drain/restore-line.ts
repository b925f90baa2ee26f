import { ticketKey, type CouponKeys } from '@coupons/shared/redis';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

const SCAN_COUNT = 1_000;

/**
 * Puts every queued ticket of the coupon that fell out of the pending set back in line, with
 * its own arrival sequence (ticket-progress-2.lua, per ticket). The drain calls it when the
 * batch read counts sequences with no pending entry: a rare repair (keys deleted, partial loss),
 * so a SCAN over the coupon's ticket hashes is affordable. Returns how many it put back.
 */
export async function restoreLine(deps: WorkerDeps, couponCode: string, keys: CouponKeys): Promise<number> {
  const { redis, config } = deps;
  const prefix = ticketKey(config.REDIS_PREFIX, couponCode, '');
  let restored = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    const before = await Promise.all(found.map((key) => redis.zscore(keys.pending, key.slice(prefix.length))));
    const statuses = await Promise.all(found.map((key) => scriptsOf(deps).ticketProgress(couponCode, key.slice(prefix.length))));
    restored += statuses.filter((status, i) => status === 'queued' && before[i] === null).length;
  } while (cursor !== '0');
  return restored;
}
