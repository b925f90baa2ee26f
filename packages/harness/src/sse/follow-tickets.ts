// burst --sse: every ticket followed over its event stream (as its owner) from its 202 until
// final, instead of polled. Reports what that cost in requests against what polling would have.
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { now, type RecordedRequest } from '../load/index.ts';
import { trustedHeaderIdentity, type ClientIdentity } from '../identity/index.ts';
import type { PendingTicket, PollResult } from '../poll/index.ts';
import { isFinal, type TicketOutcome } from '../verify/observed-run.ts';
import { openTicketEventStream, type TicketEventStream } from './ticket-event-stream.ts';

export interface FollowOptions {
  urls: string[];
  /** Streams open at once (each is a connection: keep it under the APIs' HTTP_MAX_CONNECTIONS); more tickets wait for a place. */
  concurrency: number;
  identity?: ClientIdentity;
  /** The interval of the poller the streams replace, for the "polls avoided" figure (default 1 s). */
  pollIntervalMs?: number;
}

export interface FollowFigures {
  /** GET …/events requests made (the first of each ticket, and every reconnect). */
  streamRequests: number;
  reconnects: number;
  /** Ticket events received, first ones included. */
  events: number;
  /** Streams the server refused (503 OVERLOADED / UNAVAILABLE, 404), retried after Retry-After except 404. */
  refused: number;
  /** How streams that were not a clean final ended: `503 OVERLOADED`, `failed: socket hang up`, `ended before final`, with counts. */
  interruptions: Record<string, number>;
  /** The most streams open at once. */
  peakOpen: number;
  /**
   * GETs a client polling every `pollIntervalMs` from its 202 until it saw the final state would
   * have made: Σ over tickets seen final of 1 + ⌊(final seen − answered) / interval⌋.
   */
  pollsAvoided: number;
  pollIntervalMs: number;
}

export interface FollowResult extends PollResult {
  figures: FollowFigures;
}

interface Followed {
  outcome: TicketOutcome;
  answeredAt: number;
}

/**
 * Follows tickets as they are handed out (`answered`, from the load's onAnswer) and, at the end,
 * any the load's answers name that it has not seen (`finish`). At most `concurrency` streams at
 * once. A stream that fails or ends without a final event is opened again with Last-Event-ID (the
 * server answers the current state at once); a refused one after its Retry-After.
 */
export class TicketFollower {
  private readonly followed = new Map<string, Followed>();
  private readonly waiting: Followed[] = [];
  private readonly open = new Set<TicketEventStream>();
  private readonly running = new Set<Promise<void>>();
  private readonly agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  private readonly identity: ClientIdentity;
  private deadline = Infinity;
  private nextUrl = 0;
  private finalCount = 0;
  readonly figures: FollowFigures;

  constructor(
    private readonly options: FollowOptions,
    private readonly onProgress: (final: number) => void = () => {},
  ) {
    this.identity = options.identity ?? trustedHeaderIdentity;
    this.figures = { streamRequests: 0, reconnects: 0, events: 0, refused: 0, interruptions: {}, peakOpen: 0, pollsAvoided: 0, pollIntervalMs: options.pollIntervalMs ?? 1_000 };
  }

  /** A load's answer: a ticket it names is followed from now on (once per ticket). */
  answered(record: RecordedRequest): void {
    if (!record.ticketId || record.answeredAt === null || this.followed.has(record.ticketId)) return;
    this.add({ outcome: { ticketId: record.ticketId, userId: record.userId, couponCode: record.couponCode, status: null }, answeredAt: record.answeredAt });
  }

  /** Follows every ticket of `tickets` not followed yet, waits until all are final or `deadlineMs` passed; the outcomes, in `tickets`' order. */
  async finish(tickets: PendingTicket[], deadlineMs: number): Promise<FollowResult> {
    this.deadline = Date.now() + deadlineMs;
    const timer = setTimeout(() => {
      for (const stream of this.open) stream.close();
    }, deadlineMs);
    for (const ticket of tickets) {
      const known = this.followed.get(ticket.outcome.ticketId);
      if (known) known.answeredAt = Math.min(known.answeredAt, ticket.answeredAt);
      else this.add({ outcome: ticket.outcome, answeredAt: ticket.answeredAt });
    }
    while (this.running.size > 0) await Promise.race(this.running);
    clearTimeout(timer);
    this.agent.destroy();

    const all = tickets.map((ticket) => this.followed.get(ticket.outcome.ticketId)!);
    for (const { outcome, answeredAt } of all) {
      if (outcome.finalSeenAt !== undefined) this.figures.pollsAvoided += 1 + Math.floor(Math.max(0, outcome.finalSeenAt - answeredAt) / this.figures.pollIntervalMs);
    }
    const outcomes = all.map(({ outcome }) => outcome);
    const decidedAt = outcomes.length > 0 && outcomes.every(isFinal) ? Math.max(...outcomes.map((outcome) => outcome.finalSeenAt ?? -Infinity)) : null;
    return { tickets: outcomes, decidedAt, figures: this.figures };
  }

  private add(ticket: Followed): void {
    this.followed.set(ticket.outcome.ticketId, ticket);
    this.waiting.push(ticket);
    this.fill();
  }

  /** Starts followers while there are places. */
  private fill(): void {
    while (this.running.size < this.options.concurrency && this.waiting.length > 0) {
      const ticket = this.waiting.shift()!;
      const run: Promise<void> = this.follow(ticket.outcome).finally(() => {
        this.running.delete(run);
        this.fill();
      });
      this.running.add(run);
    }
  }

  private async follow(outcome: TicketOutcome): Promise<void> {
    let lastEventId: string | undefined;
    for (let attempt = 0; !isFinal(outcome) && Date.now() < this.deadline; attempt++) {
      if (attempt > 0) this.figures.reconnects += 1;
      this.figures.streamRequests += 1;
      const stream = openTicketEventStream({
        baseUrl: this.options.urls[this.nextUrl++ % this.options.urls.length]!,
        ticketId: outcome.ticketId,
        headers: await this.identity.authHeaders(outcome.userId),
        agent: this.agent,
        ...(lastEventId !== undefined && { lastEventId }),
        onEvent: ({ data, receivedAt }) => {
          this.figures.events += 1;
          outcome.status = data.status;
          if (data.reason) outcome.reason = data.reason;
          if (data.issuedAt) outcome.issuedAt = Date.parse(data.issuedAt);
          if (isFinal(outcome)) {
            outcome.finalSeenAt = receivedAt - Date.now() + now();
            this.onProgress(++this.finalCount);
          }
        },
      });
      this.open.add(stream);
      this.figures.peakOpen = Math.max(this.figures.peakOpen, this.open.size);
      const end = await stream.ended;
      this.open.delete(stream);
      lastEventId = stream.lastEventId;
      outcome.lastPollStatus = stream.status;
      const why =
        end.kind === 'refused'
          ? `${end.status} ${/"code":"(\w+)"/.exec(end.body)?.[1] ?? ''}`.trim()
          : end.kind === 'failed'
            ? `failed: ${end.error.message.slice(0, 60)}`
            : end.final
              ? null
              : 'ended before the final event';
      if (why && !isFinal(outcome)) this.figures.interruptions[why] = (this.figures.interruptions[why] ?? 0) + 1;
      if (end.kind === 'refused') {
        this.figures.refused += 1;
        if (end.status === 404) return; // the API does not know it: the checker reports it
        await delay(Math.min(5, Number(end.retryAfter) || 1) * 1_000);
      } else if (end.kind === 'failed' && !isFinal(outcome)) {
        await delay(200);
      }
    }
  }
}
