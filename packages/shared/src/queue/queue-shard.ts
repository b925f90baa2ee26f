/**
 * Which shard of the issue queue a coupon's jobs go to: FNV-1a (32-bit) of the coupon code's
 * UTF-8 bytes, modulo the shard count. Every API and worker computes the same shard for a code
 * as long as they run with the same QUEUE_SHARDS (checked at start: queue-shard-count.ts).
 *
 * Not the Redis Cluster slot of the coupon's keys (CRC16 of `{CODE}`): that says where the
 * coupon's state lives, not which queue carries its jobs; the queue shard's own slot comes from
 * its prefix's hash tag (`{<prefix>-queue-<n>}`). A coupon's jobs all going to one shard keeps
 * its decisions' driver in one place; the drain decides in arrival order whichever job runs.
 */
export function shardOfCoupon(couponCode: string, shards: number): number {
  if (shards === 1) return 0;
  return fnv1a32(couponCode) % shards;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32-bit, over the UTF-8 bytes; an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The most shards QUEUE_SHARDS accepts: each is a BullMQ Worker (one blocking connection) in every worker that consumes it. */
export const MAX_QUEUE_SHARDS = 256;
