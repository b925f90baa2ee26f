import type { Response } from 'express';
import type { DecidedTicket, StoredTicket } from '@coupons/shared/redis';
import { ticketView } from '../routes/tickets.ts';

/**
 * A client that stops reading (its socket buffer full, its process frozen) would make us buffer
 * every event it misses. Past this many unsent bytes its stream is ended: a live client
 * reconnects and gets the current state at once (Last-Event-ID), a dead one is freed.
 */
const MAX_UNSENT_BYTES = 64 * 1024;

/** What a stream reports to its hub. */
export interface StreamEvents {
  /** An event was written (`status` of the ticket it carried). */
  sent(status: StoredTicket['status']): void;
  /** The stream is over (final event sent, client gone, or hub closing): free it. Called once. */
  closed(stream: TicketStream): void;
}

/** The ticket a decision turns `base` into: what the poll answers once the decision is resolved. */
export function decidedTicket(base: StoredTicket, decision: DecidedTicket): StoredTicket {
  const { position: _position, reason: _reason, walletId: _walletId, issuedAt: _issuedAt, ...rest } = base;
  return decision.status === 'issued'
    ? { ...rest, status: 'issued', walletId: decision.ticketId, issuedAt: new Date(decision.issuedAtMs) }
    : { ...rest, status: 'rejected', ...(decision.reason && { reason: decision.reason }) };
}

const isFinal = (ticket: StoredTicket) => ticket.status !== 'queued';

/** Answers whose final event is written, ended together once the current batch's events are out (setImmediate: after this I/O turn). */
let toEnd: Response[] = [];
function endSoon(res: Response): void {
  if (toEnd.length === 0) {
    setImmediate(() => {
      const ending = toEnd;
      toEnd = [];
      for (const answer of ending) if (!answer.writableEnded) answer.end();
    });
  }
  toEnd.push(res);
}

/**
 * One `text/event-stream` answer for one ticket. Each event is `event: ticket`, `id: <n>` and
 * `data: <the poll's JSON>`; the first at once, then one per change of status or position
 * (position at most once a second), the final one (issued or rejected), then the end.
 *
 * The id is the stream's event counter, resumed from the client's Last-Event-ID on a reconnect:
 * the ids one client sees for one ticket only grow, across reconnects and API processes. Nothing
 * is replayed from it: a reconnect gets the current state at once, which is all a ticket has (the
 * final event is never lost: it is the current state).
 *
 * Before `start` (the first read of the ticket is in flight) a decision may already arrive from
 * the hub: it is kept and applied to the first read, so a ticket decided while its stream opens
 * still ends with its final event.
 */
export class TicketStream {
  couponCode: string | undefined;
  /** The ticket as last sent (undefined before the first event). */
  last: StoredTicket | undefined;
  private lastSentAt = 0;
  private earlyDecision: DecidedTicket | undefined;
  private nextId: number;
  private ended = false;

  constructor(
    readonly ticketId: string,
    private readonly res: Response,
    lastEventId: string | undefined,
    /** Position-only changes are sent at most this often (DESIGN.md: at most once a second). */
    private readonly positionIntervalMs: number,
    private readonly events: StreamEvents,
  ) {
    const resumed = /^\d{1,15}$/.test(lastEventId?.trim() ?? '') ? Number(lastEventId) : 0;
    this.nextId = resumed + 1;
    // The client went away (or the socket failed): free everything at once.
    res.once('close', () => this.end());
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  get isQueued(): boolean {
    return this.last?.status === 'queued' && !this.ended;
  }

  /** Headers and the first event (the ticket as just read, or as a decision that arrived meanwhile made it). */
  start(ticket: StoredTicket): void {
    if (this.ended) return;
    this.couponCode = ticket.couponCode;
    const first = this.earlyDecision && !isFinal(ticket) ? decidedTicket(ticket, this.earlyDecision) : ticket;
    // The request-duration histogram skips streams (app.ts): their duration is the ticket's wait.
    this.res.locals.ticketStream = true;
    this.res.status(200);
    this.res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      // No cache may keep or transform it (no-transform: no compressing proxy buffering it).
      'Cache-Control': 'no-cache, no-store, no-transform',
      // nginx (ingress-nginx) would buffer the answer until it ends: pass each event on at once.
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    this.res.flushHeaders();
    // Events are a few hundred bytes: send each at once, not after Nagle's delay.
    this.res.socket?.setNoDelay(true);
    // The listener's request timeout stops at the end of the request (a GET's headers), so it never
    // cuts the answer; an idle socket timeout would, so none is set (the pings keep it busy).
    this.res.socket?.setTimeout(0);
    this.send(first);
  }

  /** A decision from the hub (a worker's published batch). */
  decided(decision: DecidedTicket): void {
    if (this.ended) return;
    if (!this.last) {
      this.earlyDecision = decision;
      return;
    }
    if (!isFinal(this.last)) this.send(decidedTicket(this.last, decision));
  }

  /** A fresh position from the hub's read of the coupon's line; false if it was held back (sent too recently). */
  position(rank: number, now = Date.now()): boolean {
    if (!this.last || this.ended || isFinal(this.last) || this.last.position === rank) return true;
    if (now - this.lastSentAt < this.positionIntervalMs) return false;
    this.send({ ...this.last, position: rank });
    return true;
  }

  /** The ticket as read again from Redis/Postgres (a resync): sent if it differs from what the client has. */
  reread(ticket: StoredTicket): void {
    if (this.ended || !this.last) return;
    if (JSON.stringify(ticketView(ticket)) !== JSON.stringify(ticketView(this.last))) this.send(ticket);
  }

  /** A comment line: keeps proxies and balancers from closing the stream as idle. */
  ping(): void {
    if (this.ended || !this.last) return;
    this.write(': ping\n\n');
  }

  /** Frees a stream that never started (the ticket is not the caller's, the read failed): the route answers the problem. */
  abandon(): void {
    if (this.ended) return;
    this.ended = true;
    this.events.closed(this);
  }

  /** Ends the stream (final event sent, shutdown) and frees it; idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.res.writableEnded) this.res.end();
    this.events.closed(this);
  }

  private send(ticket: StoredTicket): void {
    this.last = ticket;
    this.lastSentAt = Date.now();
    const event = `event: ticket\nid: ${this.nextId++}\ndata: ${JSON.stringify(ticketView(ticket))}\n\n`;
    this.events.sent(ticket.status);
    if (!isFinal(ticket)) {
      this.write(event);
      return;
    }
    // A batch ends hundreds of streams at once. The final event goes out now; ending each answer
    // (Node's response bookkeeping, about twice the cost of the write) waits until every final
    // event of the batch is written, so the last client of a batch does not wait for the others' ends.
    this.ended = true;
    this.write(event);
    endSoon(this.res);
    this.events.closed(this);
  }

  private write(chunk: string): void {
    if (this.res.writableLength > MAX_UNSENT_BYTES) {
      this.end();
      return;
    }
    this.res.write(chunk);
  }
}
