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

/** BullMQ's key prefix. The hash tag keeps the whole queue in one Redis Cluster slot, as BullMQ requires. */
export function queuePrefix(prefix: string): string {
  return `{${prefix}-queue}`;
}

/** The one queue every issue request goes through. */
export const ISSUE_QUEUE_NAME = 'issue-requests';
