// The coupon → queue shard mapping (FNV-1a mod N) and the shard keys: stable across processes
// and versions, spread evenly, and the single queue keeps its name of before.
import { describe, expect, it } from 'vitest';
import { fnv1a32, shardOfCoupon } from '../src/queue/index.ts';
import { queuePrefix, queuePrefixes, queueWaitListKey } from '../src/redis/index.ts';

describe('shardOfCoupon', () => {
  it('is FNV-1a (32-bit) of the code: the published test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('is stable: these codes map to these shards in every process and every version (changing it strands queued jobs)', () => {
    expect(['A0001', 'B0001', 'C0001'].map((code) => shardOfCoupon(code, 4))).toEqual([3, 2, 1]);
    expect(['A0001', 'B0001', 'C0001'].map((code) => shardOfCoupon(code, 8))).toEqual([7, 2, 5]);
    expect(shardOfCoupon('A0001', 1)).toBe(0);
  });

  it('spreads 1,000 codes over 8 shards within 25 % of even, and stays in range for every N up to 256', () => {
    const codes = Array.from({ length: 1_000 }, (_, i) => `M${String(i).padStart(4, '0')}`);
    const perShard = Array<number>(8).fill(0);
    for (const code of codes) perShard[shardOfCoupon(code, 8)]!++;
    for (const count of perShard) {
      expect(count).toBeGreaterThanOrEqual(125 * 0.75);
      expect(count).toBeLessThanOrEqual(125 * 1.25);
    }
    for (const shards of [1, 2, 3, 7, 64, 256]) {
      for (const code of codes.slice(0, 100)) expect(shardOfCoupon(code, shards)).toBeLessThan(shards);
    }
  });
});

describe('queue shard keys', () => {
  it('keeps the single queue of before with one shard, and `{prefix-queue-n}` per shard with more', () => {
    expect(queuePrefix('coupons')).toBe('{coupons-queue}');
    expect(queuePrefixes('coupons', 1)).toEqual(['{coupons-queue}']);
    expect(queuePrefixes('coupons', 3)).toEqual(['{coupons-queue-0}', '{coupons-queue-1}', '{coupons-queue-2}']);
    expect(queueWaitListKey('coupons', 2, 4)).toBe('{coupons-queue-2}:issue-requests:wait');
  });
});
