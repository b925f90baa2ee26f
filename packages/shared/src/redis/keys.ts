/**
 * Every Redis key name, built here and nowhere else.
 *
 * A coupon's keys share the hash tag `{CODE}`, so on a Redis Cluster they live in one slot and
 * one Lua script may touch all of them. Ticket hashes carry the same tag (a ticket id leads to
 * its coupon through the tag it carries: domain/ticket-id.ts).
 */
export interface CouponKeys {
  /** hash userId → ticketId: one ticket per (coupon, user). Fast-path state. */
  users: string;
  /** zset ticketId → arrival sequence: admitted, not yet decided. The order of decisions. */
  pending: string;
  /** counter: the last arrival sequence handed out. */
  seq: string;
  /** hash total, issued, decidedSeq, soldOut, stale: mirrors Postgres (layout: lua/includes/coupon-mirror.lua). Fast-path state, rebuilt when missing. */
  meta: string;
  /** the coupon lock: value is the holder's random token, with a lease (PX). */
  lock: string;
  /** counter: fencing token, incremented on every lock grant. */
  fence: string;
  /**
   * counter: the highest arrival sequence a queued job covers (raised by an API once a batch's
   * job exists). A pending ticket above it was admitted by an API that died before enqueueing:
   * the reconciler gives it a job.
   */
  enqueued: string;
  /** prefix of the ticket hashes: `${ticketPrefix}${ticketId}`. */
  ticketPrefix: string;
}

export function couponKeys(prefix: string, couponCode: string): CouponKeys {
  const base = `${prefix}:{${couponCode}}`;
  return {
    users: `${base}:users`,
    pending: `${base}:pending`,
    seq: `${base}:seq`,
    meta: `${base}:meta`,
    lock: `${base}:lock`,
    fence: `${base}:fence`,
    enqueued: `${base}:enqueued`,
    ticketPrefix: `${base}:ticket:`,
  };
}

export function ticketKey(prefix: string, couponCode: string, ticketId: string): string {
  return `${couponKeys(prefix, couponCode).ticketPrefix}${ticketId}`;
}

/**
 * BullMQ's key prefix of one shard of the issue queue (packages/shared/src/queue/queue-shard.ts).
 * The hash tag is the whole prefix, so each shard is one Redis Cluster slot, as BullMQ requires,
 * and different shards hash to different slots (spread over the primaries).
 *
 * With one shard (QUEUE_SHARDS=1, the default) the queue keeps the name it had before sharding,
 * `{<prefix>-queue}`: an upgrade that keeps one shard changes no key (no job stranded in a queue
 * nobody reads, the KEDA trigger's list unchanged). With N > 1 the shards are `{<prefix>-queue-<n>}`.
 */
export function queuePrefix(prefix: string, shard = 0, shards = 1): string {
  return shards === 1 ? `{${prefix}-queue}` : `{${prefix}-queue-${shard}}`;
}

/** Every shard's prefix, shard 0 first. */
export function queuePrefixes(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => queuePrefix(prefix, shard, shards));
}

/** BullMQ's list of a shard's jobs no worker has taken yet: what KEDA scales the workers on. */
export function queueWaitListKey(prefix: string, shard = 0, shards = 1): string {
  return `${queuePrefix(prefix, shard, shards)}:${ISSUE_QUEUE_NAME}:wait`;
}

/** string: the QUEUE_SHARDS the APIs enqueue with (written by each API at start, checked by each worker at start). */
export function queueShardsKey(prefix: string): string {
  return `${prefix}:queue-shards`;
}

/**
 * The durable admission's marker on a Redis Cluster (services/api/src/admission/replica-ack.ts): a
 * key in the same slot as `slotKey` (its hash tag), written on that slot's primary before WAIT.
 */
export function replicaAckMarkerKey(prefix: string, slotKey: string): string {
  const tag = /\{([^}]+)\}/.exec(slotKey)?.[1];
  if (!tag) throw new Error(`${slotKey} has no hash tag: its slot has no marker key`);
  return `${prefix}:{${tag}}:replica-ack`;
}

/** The one queue every issue request goes through. */
export const ISSUE_QUEUE_NAME = 'issue-requests';
