import type { Response } from 'express';
import type { Logger } from 'pino';
import { couponKeys, type DecidedBatch, type StoredTicket } from '@coupons/shared/redis';
import { lookupTicket, type TicketLookup } from '../routes/tickets.ts';
import { DecisionsSubscription, type OpenSubscriber } from './decisions-subscription.ts';
import { ThrottledRefresh } from './throttled-refresh.ts';
import { TicketStream } from './ticket-stream.ts';

/** Position events written per event-loop turn by a line read. */
const POSITION_WRITES_PER_TURN = 256;

export interface TicketStreamHubOptions {
  lookup: TicketLookup;
  /** Opens the one subscriber connection (on the first stream). */
  openSubscriber: OpenSubscriber;
  log: Logger;
  /** SSE_MAX_STREAMS: open streams past it are refused (503 OVERLOADED). */
  maxStreams: number;
  /** SSE_HEARTBEAT_MS: `: ping` on every stream this often. */
  heartbeatMs: number;
  /** SSE_POSITION_INTERVAL_MS: a stream's position is pushed at most this often (≥ 1 s). */
  positionIntervalMs: number;
  /** SSE_RESYNC_MS: every coupon's streams re-read this often (a lost message is caught here). */
  resyncMs: number;
  /** Metrics: an event was sent (the status it carried). */
  onEventSent?: (status: StoredTicket['status']) => void;
}

/**
 * Every ticket stream of this API process, fed by its one Redis subscription.
 *
 * - A worker's decided batch (one message per batch) ends the streams of its tickets with their
 *   final event at once, built from the message (no Redis read), and asks for a fresh read of the
 *   positions of the coupon's other streams.
 * - Positions are read per coupon, one pipelined round trip of ZRANKs (what the poll reads: the
 *   rank in the coupon's pending set) at most once a second (SSE_POSITION_INTERVAL_MS) however many batches come, never one
 *   call per stream per batch. A stream whose ticket is no longer in line was decided without us
 *   hearing of it: its ticket is read whole (the poll's lookup) and its final event sent.
 * - Messages can be lost (Pub/Sub is at most once: a publish that failed, a subscription that was
 *   reconnecting). So after every reconnect of the subscription, and every SSE_RESYNC_MS, every
 *   coupon's streams are read again the same way: a final event is delayed, never lost.
 */
export class TicketStreamHub {
  private readonly byTicket = new Map<string, Set<TicketStream>>();
  private readonly byCoupon = new Map<string, Set<TicketStream>>();
  private open = 0;
  private closing = false;
  private readonly subscription: DecisionsSubscription;
  private readonly refresh: ThrottledRefresh;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: TicketStreamHubOptions) {
    const { log } = options;
    this.subscription = new DecisionsSubscription(options.openSubscriber, options.lookup.prefix, {
      batch: (batch) => this.onBatch(batch),
      resubscribed: () => this.resyncAll(),
    }, log);
    this.refresh = new ThrottledRefresh(options.positionIntervalMs, (coupon) => this.readLine(coupon), (coupon, error) =>
      log.warn({ coupon, err: (error as Error).message }, 'ticket streams: reading the line failed (retrying)'),
    );
  }

  /** Streams open now (started or starting). */
  get openStreams(): number {
    return this.open;
  }

  /** Times the subscription came back after a drop. */
  get reconnects(): number {
    return this.subscription.reconnects;
  }

  /** Whether one more stream may open (SSE_MAX_STREAMS), and the hub is not closing. */
  get hasRoom(): boolean {
    return !this.closing && this.open < this.options.maxStreams;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** The subscription is up (opened by the first stream); rejects while Redis cannot be reached. */
  subscribed(): Promise<void> {
    return this.subscription.ready();
  }

  /**
   * Registers a stream for `ticketId` before its first read, so a decision published while the
   * read is in flight is not missed. The caller checks `hasRoom` first.
   */
  register(ticketId: string, res: Response, lastEventId: string | undefined): TicketStream {
    if (this.open === 0) this.startTimers();
    this.open += 1;
    const stream = new TicketStream(ticketId, res, lastEventId, this.options.positionIntervalMs, {
      sent: (status) => this.options.onEventSent?.(status),
      closed: (closed) => this.unregister(closed),
    });
    let streams = this.byTicket.get(ticketId);
    if (!streams) this.byTicket.set(ticketId, (streams = new Set()));
    streams.add(stream);
    return stream;
  }

  /** The first read answered: the stream sends its first event and joins its coupon's line reads. */
  start(stream: TicketStream, ticket: StoredTicket): void {
    stream.start(ticket);
    if (!stream.isOpen) return;
    let streams = this.byCoupon.get(ticket.couponCode);
    if (!streams) this.byCoupon.set(ticket.couponCode, (streams = new Set()));
    streams.add(stream);
  }

  /** Ends every stream (shutdown: clients reconnect to another replica) and the subscription. */
  close(): void {
    this.closing = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.refresh.stop();
    for (const streams of [...this.byTicket.values()]) for (const stream of [...streams]) stream.end();
    this.subscription.close();
  }

  private unregister(stream: TicketStream): void {
    this.open -= 1;
    const forTicket = this.byTicket.get(stream.ticketId);
    forTicket?.delete(stream);
    if (forTicket?.size === 0) this.byTicket.delete(stream.ticketId);
    if (stream.couponCode) {
      const forCoupon = this.byCoupon.get(stream.couponCode);
      forCoupon?.delete(stream);
      if (forCoupon?.size === 0) {
        this.byCoupon.delete(stream.couponCode);
        this.refresh.forget(stream.couponCode);
      }
    }
    if (this.open === 0) this.stopTimers();
  }

  private onBatch(batch: DecidedBatch): void {
    for (const decision of batch.tickets) {
      const streams = this.byTicket.get(decision.ticketId);
      if (streams) for (const stream of [...streams]) stream.decided(decision);
    }
    if (this.byCoupon.has(batch.couponCode)) this.refresh.request(batch.couponCode);
  }

  private resyncAll(): void {
    for (const coupon of this.byCoupon.keys()) this.refresh.request(coupon);
  }

  /**
   * One coupon's queued streams, read again: ranks in one pipeline; a ticket out of line is read
   * whole (decided, or fallen out of line: what the poll would say).
   */
  private async readLine(coupon: string): Promise<void> {
    const streams = [...(this.byCoupon.get(coupon) ?? [])].filter((stream) => stream.isQueued);
    if (streams.length === 0) return;
    const { redis, prefix } = this.options.lookup;
    const pending = couponKeys(prefix, coupon).pending;
    const ticketIds = [...new Set(streams.map((stream) => stream.ticketId))];
    // One key (the coupon's pending set): one slot, so a Cluster client pipelines it too.
    const pipeline = redis.pipeline();
    for (const ticketId of ticketIds) pipeline.zrank(pending, ticketId);
    const replies = (await pipeline.exec()) ?? [];
    const ranks = new Map<string, number | null>();
    ticketIds.forEach((ticketId, index) => {
      const [error, rank] = replies[index] ?? [new Error('no reply')];
      if (error) throw error;
      ranks.set(ticketId, rank as number | null);
    });
    // Streams whose final event a batch message brought while the ranks were read need nothing more.
    const stillQueued = new Set(streams.filter((stream) => stream.isQueued).map((stream) => stream.ticketId));
    const outOfLine = ticketIds.filter((ticketId) => ranks.get(ticketId) === null && stillQueued.has(ticketId));
    const reread = new Map(await Promise.all(outOfLine.map(async (ticketId) => [ticketId, await lookupTicket(this.options.lookup, ticketId)] as const)));
    const now = Date.now();
    let heldBack = false;
    for (let start = 0; start < streams.length; start += POSITION_WRITES_PER_TURN) {
      // Thousands of position events: let the event loop in between, so a batch's final events
      // (the ones whose latency counts) are not queued behind them.
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const stream of streams.slice(start, start + POSITION_WRITES_PER_TURN)) {
        const rank = ranks.get(stream.ticketId);
        if (rank !== null && rank !== undefined) {
          if (!stream.position(rank, now)) heldBack = true;
          continue;
        }
        const ticket = reread.get(stream.ticketId);
        if (ticket) stream.reread(ticket);
      }
    }
    // A position held back (its stream sent an event less than a second ago) goes out on the next read.
    if (heldBack) this.refresh.request(coupon);
  }

  private startTimers(): void {
    const { heartbeatMs, resyncMs } = this.options;
    const ping = setInterval(() => {
      for (const streams of this.byTicket.values()) for (const stream of streams) stream.ping();
    }, heartbeatMs);
    const resync = setInterval(() => this.resyncAll(), resyncMs);
    for (const timer of [ping, resync]) timer.unref();
    this.timers.push(ping, resync);
  }

  private stopTimers(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }
}
