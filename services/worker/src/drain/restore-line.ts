import { primaryForKey, ticketKey, type CouponKeys } from '@coupons/shared/redis';
import { scriptsOf, type WorkerDeps } from '../worker-deps.ts';

const SCAN_COUNT = 1_000;

/**
 * Puts every queued ticket of the coupon that fell out of the pending set back in line, with
 * its own arrival sequence (ticket-progress-2.lua, per ticket missing from the set). The drain
 * calls it when the batch read counts sequences with no pending entry: a rare repair (keys
 * deleted, partial loss), so a SCAN over the coupon's ticket hashes is affordable. Returns how
 * many it put back.
 */
export async function restoreLine(deps: WorkerDeps, couponCode: string, keys: CouponKeys): Promise<number> {
  const { redis, config } = deps;
  const scripts = scriptsOf(deps);
  const prefix = ticketKey(config.REDIS_PREFIX, couponCode, '');
  // SCAN names no key: on a Redis Cluster it must go to the primary serving the coupon's slot,
  // where all its ticket hashes live ({CODE}); a slot that moves meanwhile fails the drain, which retries.
  const node = primaryForKey(redis, keys.pending)?.node;
  if (!node) throw new Error(`no known primary serves the slot of ${keys.pending} yet`);
  let restored = 0;
  let cursor = '0';
  do {
    const [next, found] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
    cursor = next;
    const ticketIds = found.map((key) => key.slice(prefix.length));
    const scores = await Promise.all(ticketIds.map((ticketId) => redis.zscore(keys.pending, ticketId)));
    // Only a ticket missing from the pending set can need putting back; for one still in line the
    // script would only report its status. Of those, 'queued' means it was put back now.
    const outOfLine = ticketIds.filter((_, i) => scores[i] === null);
    const statuses = await scripts.ticketsProgress(couponCode, outOfLine);
    restored += statuses.filter((status) => status === 'queued').length;
  } while (cursor !== '0');
  return restored;
}
