// After the burst: every ticket is polled as its owner (X-User-Id, or the identity's token), as a client would, until
// it is final or the deadline passes.
//
// Asking for all of them again and again while the workers are still deciding would take the
// workers' CPU (2 cores for everything) and measure the poller rather than the system. Workers
// decide each coupon in arrival order, so first only the end of each coupon's line is watched:
// when it is final, everything ahead of it was decided. Then every ticket is swept and confirmed.
// If that sweep finds one still queued, the end-of-line shortcut did not hold, and only the sweep's
// own times count.
import { setTimeout as delay } from 'node:timers/promises';
import { now, type RecordedRequest } from '../load/index.ts';
import { isFinal as isFinalOutcome, type TicketOutcome } from '../verify/observed-run.ts';
import { trustedHeaderIdentity, type ClientIdentity } from '../identity/index.ts';

export interface PollOptions {
  urls: string[];
  deadlineMs: number;
  concurrency: number;
  /**
   * Connections of the burst. At most that many requests were in flight together, so a coupon's
   * last admitted ticket is among its last `connections` tickets to be answered.
   */
  connections: number;
  /** Pause between rounds while tickets are still queued. */
  roundIntervalMs?: number;
  /** Who each poll says it is: the ticket's owner (default: X-User-Id as is). */
  identity?: ClientIdentity;
}

export interface PollResult {
  tickets: TicketOutcome[];
  /** When the last ticket of every line was seen final, if every other ticket then was final too. */
  decidedAt: number | null;
}

export interface PendingTicket {
  outcome: TicketOutcome;
  /** When the first answer carrying this ticket came back. */
  answeredAt: number;
}

/** One ticket per id handed out in the answers, with its owner. */
export function ticketsOf(requests: readonly RecordedRequest[]): PendingTicket[] {
  const tickets = new Map<string, PendingTicket>();
  for (const request of requests) {
    if (!request.ticketId || request.answeredAt === null) continue;
    const known = tickets.get(request.ticketId);
    if (known) known.answeredAt = Math.min(known.answeredAt, request.answeredAt);
    else {
      const outcome: TicketOutcome = { ticketId: request.ticketId, userId: request.userId, couponCode: request.couponCode, status: null };
      tickets.set(request.ticketId, { outcome, answeredAt: request.answeredAt });
    }
  }
  return [...tickets.values()];
}

const isFinal = ({ outcome }: PendingTicket) => isFinalOutcome(outcome);

export async function pollTickets(
  tickets: PendingTicket[],
  options: PollOptions,
  onProgress: (final: number, stage: 'line ends' | 'sweep') => void = () => {},
): Promise<PollResult> {
  const deadline = Date.now() + options.deadlineMs;
  const interval = options.roundIntervalMs ?? 100;
  let nextUrl = 0;
  let finalCount = 0;
  let stage: 'line ends' | 'sweep' = 'line ends';

  async function pollOnce(ticket: PendingTicket): Promise<void> {
    if (isFinal(ticket)) return;
    const { outcome } = ticket;
    try {
      const res = await fetch(`${options.urls[nextUrl++ % options.urls.length]}/v1/tickets/${outcome.ticketId}`, {
        headers: await (options.identity ?? trustedHeaderIdentity).authHeaders(outcome.userId),
      });
      outcome.lastPollStatus = res.status;
      if (res.status !== 200) return void (await res.body?.cancel());
      const body = (await res.json()) as { status: TicketOutcome['status']; reason?: string; issuedAt?: string };
      outcome.status = body.status;
      if (body.reason) outcome.reason = body.reason;
      if (body.issuedAt) outcome.issuedAt = Date.parse(body.issuedAt);
      if (isFinal(ticket)) {
        outcome.finalSeenAt = now();
        onProgress(++finalCount, stage);
      }
    } catch {
      // Refused or reset: the ticket stays pending and is asked again next round.
    }
  }

  /** One pass over the tickets of `group` not yet final, at most `concurrency` at once. */
  async function pollPass(group: PendingTicket[]): Promise<void> {
    const pending = group.filter((ticket) => !isFinal(ticket));
    for (let start = 0; start < pending.length && Date.now() < deadline; start += options.concurrency) {
      await Promise.all(pending.slice(start, start + options.concurrency).map(pollOnce));
    }
  }

  /** Passes over `group` until all are final; false at the deadline. */
  async function untilFinal(group: PendingTicket[]): Promise<boolean> {
    for (;;) {
      await pollPass(group);
      if (group.every(isFinal)) return true;
      if (Date.now() >= deadline) return false;
      await delay(interval);
    }
  }

  const byCoupon = new Map<string, PendingTicket[]>();
  for (const ticket of tickets) {
    const code = ticket.outcome.couponCode;
    byCoupon.set(code, byCoupon.get(code) ?? []).get(code)!.push(ticket);
  }
  // The end of each line: its last answered ticket first (one poll a round), then the rest of its tail.
  const tails = [...byCoupon.values()].map((line) => [...line].sort((a, b) => b.answeredAt - a.answeredAt).slice(0, options.connections));
  const linesDecided = await Promise.all(tails.map(async (tail) => (await untilFinal(tail.slice(0, 1))) && (await untilFinal(tail))));
  const tailsFinalAt = tails.flat().reduce((last, { outcome }) => Math.max(last, outcome.finalSeenAt ?? Infinity), -Infinity);
  // Everything ahead of a decided line end must be final on the sweep's first visit.
  stage = 'sweep';
  onProgress(finalCount, stage);
  await pollPass(tickets);
  const inOrder = linesDecided.every(Boolean) && tickets.every(isFinal);
  await untilFinal(tickets);
  return { tickets: tickets.map((ticket) => ticket.outcome), decidedAt: inOrder && Number.isFinite(tailsFinalAt) ? tailsFinalAt : null };
}

/**
 * One more GET for every ticket polling left unfinished. Polling watches the end of each line
 * first and may spend its whole deadline there when those tickets are gone (a flushed Redis):
 * this makes sure every ticket's fate is asked at least once, so a lost one shows its 404.
 */
export async function askOnceMore(urls: readonly string[], tickets: readonly TicketOutcome[], identity: ClientIdentity = trustedHeaderIdentity): Promise<void> {
  const unfinished = tickets.filter((ticket) => !isFinalOutcome(ticket));
  for (let start = 0; start < unfinished.length; start += 32) {
    await Promise.all(
      unfinished.slice(start, start + 32).map(async (ticket, i) => {
        const res = await fetch(`${urls[i % urls.length]}/v1/tickets/${ticket.ticketId}`, { headers: await identity.authHeaders(ticket.userId), signal: AbortSignal.timeout(5_000) }).catch(() => null);
        if (!res) return;
        ticket.lastPollStatus = res.status;
        const body = (await res.json().catch(() => ({}))) as { status?: TicketOutcome['status'] };
        if (res.status === 200 && body.status) ticket.status = body.status;
      }),
    );
  }
}
