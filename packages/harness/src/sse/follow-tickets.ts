// After the burst, with --sse: every ticket followed over its event stream (as its owner) until
// final, instead of polled. Reports what that cost in requests against what polling would have.
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { now } from '../load/index.ts';
import { trustedHeaderIdentity, type ClientIdentity } from '../identity/index.ts';
import type { PendingTicket, PollResult } from '../poll/index.ts';
import { isFinal } from '../verify/observed-run.ts';
import { openTicketEventStream } from './ticket-event-stream.ts';

export interface FollowOptions {
  urls: string[];
  deadlineMs: number;
  /** Streams open at once (each is a connection: keep it under the APIs' HTTP_MAX_CONNECTIONS). */
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
  /** Streams the server refused (503 OVERLOADED / UNAVAILABLE), retried after Retry-After. */
  refused: number;
  /**
   * GETs a client polling every `pollIntervalMs` from its 202 until it saw the final state would
   * have made: Σ over tickets of 1 + ⌊(final seen − answered) / interval⌋.
   */
  pollsAvoided: number;
  pollIntervalMs: number;
}

export interface FollowResult extends PollResult {
  figures: FollowFigures;
}

/**
 * Follows every ticket until final (or the deadline), at most `concurrency` streams at once. A
 * stream that fails or ends without a final event is opened again with Last-Event-ID (the server
 * answers the current state at once); a refused one after its Retry-After.
 */
export async function followTickets(tickets: PendingTicket[], options: FollowOptions, onProgress: (final: number) => void = () => {}): Promise<FollowResult> {
  const deadline = Date.now() + options.deadlineMs;
  const identity = options.identity ?? trustedHeaderIdentity;
  const interval = options.pollIntervalMs ?? 1_000;
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const figures: FollowFigures = { streamRequests: 0, reconnects: 0, events: 0, refused: 0, pollsAvoided: 0, pollIntervalMs: interval };
  let nextUrl = 0;
  let finalCount = 0;

  async function follow({ outcome }: PendingTicket): Promise<void> {
    let lastEventId: string | undefined;
    for (let attempt = 0; !isFinal(outcome) && Date.now() < deadline; attempt++) {
      if (attempt > 0) figures.reconnects += 1;
      figures.streamRequests += 1;
      const stream = openTicketEventStream({
        baseUrl: options.urls[nextUrl++ % options.urls.length]!,
        ticketId: outcome.ticketId,
        headers: await identity.authHeaders(outcome.userId),
        agent,
        ...(lastEventId !== undefined && { lastEventId }),
        onEvent: ({ data, receivedAt }) => {
          figures.events += 1;
          outcome.status = data.status;
          if (data.reason) outcome.reason = data.reason;
          if (data.issuedAt) outcome.issuedAt = Date.parse(data.issuedAt);
          if (isFinal(outcome)) {
            outcome.finalSeenAt = receivedAt - Date.now() + now();
            onProgress(++finalCount);
          }
        },
      });
      const timer = setTimeout(() => stream.close(), Math.max(0, deadline - Date.now()));
      const end = await stream.ended;
      clearTimeout(timer);
      lastEventId = stream.lastEventId;
      outcome.lastPollStatus = stream.status;
      if (end.kind === 'refused') {
        figures.refused += 1;
        if (end.status === 404) return; // the API no longer knows it: the checker reports it
        await delay(Math.min(5, Number(end.retryAfter) || 1) * 1_000);
      } else if (end.kind === 'failed' && !isFinal(outcome)) {
        await delay(200);
      }
    }
  }

  let next = 0;
  const workers = Array.from({ length: Math.min(options.concurrency, tickets.length) }, async () => {
    while (next < tickets.length) await follow(tickets[next++]!);
  });
  await Promise.all(workers);
  agent.destroy();

  for (const { outcome, answeredAt } of tickets) {
    if (outcome.finalSeenAt !== undefined) figures.pollsAvoided += 1 + Math.floor(Math.max(0, outcome.finalSeenAt - answeredAt) / interval);
  }
  const all = tickets.map((ticket) => ticket.outcome);
  const decidedAt = all.length > 0 && all.every(isFinal) ? Math.max(...all.map((ticket) => ticket.finalSeenAt ?? -Infinity)) : null;
  return { tickets: all, decidedAt, figures };
}
