import type { Cluster, Redis } from 'ioredis';

/**
 * A connection to Redis as the code uses it: one server (`Redis`, directly or through Sentinel)
 * or a Redis Cluster (`Cluster`, REDIS_CLUSTER_NODES). Both run the same commands and scripts;
 * a Cluster sends each to the primary serving its keys' slot, which is why every call (script,
 * MULTI, multi-key command) names keys of one slot only: the coupon's `{CODE}` hash tag, the
 * queue's `{prefix-queue…}`, the stats' `{stats}`.
 *
 * What differs, and the helpers here for it: a command without keys (INFO, SCRIPT LOAD, WAIT,
 * DBSIZE) goes to one arbitrary node of a Cluster, so what must run on every primary goes through
 * `forEachPrimary`, and what must run where a key lives through `primaryForKey`.
 */
export type RedisClient = Redis | Cluster;

/** Whether `client` is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/**
 * Runs `fn` on every primary (each a plain `Redis` to that node): one call on a single server,
 * one per primary on a Cluster (INFO commandstats, SCRIPT LOAD, memory figures). Resolves in the
 * order of `client.nodes('master')`.
 */
export async function forEachPrimary<T>(client: RedisClient, fn: (node: Redis) => Promise<T>): Promise<T[]> {
  if (!isCluster(client)) return [await fn(client)];
  return Promise.all(client.nodes('master').map(fn));
}

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with (cluster.c keyHashSlot). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The cluster slot of `key` (0-16383), as Redis computes it: the CRC16 of the key, or of the
 * part between the first `{` and the next `}` when that part is not empty (the hash tag).
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  const open = bytes.indexOf(0x7b);
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

/**
 * The node connection that serves `key`'s slot as the client knows it now: the client itself on
 * a single server; on a Cluster, the primary's connection from the client's slot map (undefined
 * while the map has no owner for it, e.g. before the first refresh). Only for what must run on
 * that very node and names no key (WAIT); everything with a key goes through the client, which
 * follows MOVED/ASK.
 */
export function primaryForKey(client: RedisClient, key: string): { node: Redis; address: string } | undefined {
  if (!isCluster(client)) return { node: client, address: 'single' };
  const address = client.slots[keySlot(key)]?.[0];
  if (!address) return undefined;
  const node = client.nodes('master').find((candidate) => `${candidate.options.host}:${candidate.options.port}` === address);
  return node ? { node, address } : undefined;
}
