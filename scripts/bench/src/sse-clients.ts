// The sse phase's load generator, a child process of the bench (tsx, IPC): it opens one ticket
// stream per ticket it is given (each its own connection), and times each final event against
// the commit of its batch. Kept out of the bench's own process so 10,000 sockets and their
// parsing never share the event loop (or the file descriptors) of the parent.
//
// Commit time: the worker's `committedAt` in the batch's published message (shared/redis/
// ticket-events.ts), read here from our own subscription to the same channel. Both clocks are
// this machine's.
import { Redis } from 'ioredis';
import { decodeDecidedBatch, ticketEventsChannel } from '@coupons/shared/redis';
import { openTicketEventStream, type TicketEventStream } from '@coupons/harness/sse';

export interface SseClientsStart {
  baseUrl: string;
  redisUrl: string;
  prefix: string;
  tickets: { ticketId: string; userId: string }[];
  /** Connections being set up at once (the listen backlog is finite). */
  connectConcurrency: number;
  timeoutMs: number;
}

/** Child → parent. */
export type SseClientsMessage =
  | { kind: 'open'; streams: number; failed: number; refused: number; openMs: number }
  | { kind: 'final'; finals: number; latenciesMs: number[]; messageLagsMs: number[]; missingCommit: number; events: number; pings: number; unfinished: number };

const send = (message: SseClientsMessage) => process.send!(message);

async function run(start: SseClientsStart): Promise<void> {
  const committedAt = new Map<string, number>();
  /** Per batch message: when our probe got it, after the commit (the Pub/Sub leg of the latency). */
  const messageLagsMs: number[] = [];
  const subscriber = new Redis(start.redisUrl, { maxRetriesPerRequest: null });
  subscriber.on('message', (_channel: string, message: string) => {
    const batch = decodeDecidedBatch(message);
    if (!batch) return;
    messageLagsMs.push(Date.now() - batch.committedAtMs);
    for (const ticket of batch.tickets) committedAt.set(ticket.ticketId, batch.committedAtMs);
  });
  await subscriber.subscribe(ticketEventsChannel(start.prefix));

  const streams: TicketEventStream[] = [];
  const finalAt = new Map<string, number>();
  let failed = 0;
  let refused = 0;
  const openedAt = Date.now();
  let next = 0;
  // Connect in waves of connectConcurrency: each waits for its first event before the next takes its place.
  await Promise.all(
    Array.from({ length: start.connectConcurrency }, async () => {
      while (next < start.tickets.length) {
        const { ticketId, userId } = start.tickets[next++]!;
        const stream = openTicketEventStream({
          baseUrl: start.baseUrl,
          ticketId,
          headers: { 'x-user-id': userId },
          agent: false,
          onEvent: ({ data, receivedAt }) => {
            if (data.status !== 'queued') finalAt.set(ticketId, receivedAt);
          },
        });
        streams.push(stream);
        await Promise.race([stream.until((s) => s.events.length > 0, start.timeoutMs, 'the first event').catch(() => {}), stream.ended]);
        if (stream.status !== 200) (stream.status === undefined ? failed++ : refused++);
      }
    }),
  );
  send({ kind: 'open', streams: streams.filter((s) => s.events.length > 0).length, failed, refused, openMs: Date.now() - openedAt });

  // The parent starts the worker now; every stream should end with its final event.
  await Promise.race([Promise.all(streams.map((s) => s.ended)), new Promise((resolve) => setTimeout(resolve, start.timeoutMs))]);
  const latenciesMs: number[] = [];
  let missingCommit = 0;
  for (const [ticketId, at] of finalAt) {
    const commit = committedAt.get(ticketId);
    if (commit === undefined) missingCommit++;
    else latenciesMs.push(at - commit);
  }
  send({
    kind: 'final',
    finals: finalAt.size,
    latenciesMs,
    messageLagsMs,
    missingCommit,
    events: streams.reduce((sum, s) => sum + s.events.length, 0),
    pings: streams.reduce((sum, s) => sum + s.pings, 0),
    unfinished: streams.length - finalAt.size,
  });
  for (const stream of streams) stream.close();
  subscriber.disconnect();
}

process.once('message', (start: SseClientsStart) => {
  run(start).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
