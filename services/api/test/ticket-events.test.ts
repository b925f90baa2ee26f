// GET /v1/tickets/{ticketId}/events: tickets pushed over SSE, end to end in-process: the real API
// (its listener limits included), the real worker (startIssueWorker: queue, drain, publish), real
// Redis and Postgres. A gate before each batch's commit lets a test decide one batch at a time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { createDb } from '@coupons/shared/db';
import { registerCommands, ticketEventsChannel } from '@coupons/shared/redis';
import { createLogger } from '@coupons/shared/runtime';
import { waitFor } from '@coupons/shared/testing';
import { openTicketEventStream, type TicketEventStream } from '@coupons/harness/sse';
import { startIssueWorker, type IssueWorker } from '../../worker/src/worker.ts';
import type { BatchPoint } from '../../worker/src/worker-deps.ts';
import { decideTicket, expectProblem, get, insertCoupon, newUserId, requestCoupon, send, useTestApi } from './helpers.ts';

const MAX_STREAMS = 6;
const couponCode = (i: number) => `SSE${String(i).padStart(3, '0')}`;
const HEARTBEAT_MS = 200;
const REQUEST_TIMEOUT_MS = 400;

/** Batches wait here before their commit until the test lets a number of them through, per coupon. */
class BatchGate {
  private readonly permits = new Map<string, number>();
  private readonly waiting: { code: string; go: () => void }[] = [];
  private open = false;

  allow(code: string, batches = 1): void {
    this.permits.set(code, (this.permits.get(code) ?? 0) + batches);
    this.release();
  }

  /** Everything through (teardown: the worker closes only once its batch is done). */
  openAll(): void {
    this.open = true;
    this.release();
  }

  beforeCommit = ({ couponCode }: BatchPoint): Promise<void> =>
    new Promise((go) => {
      this.waiting.push({ code: couponCode, go });
      this.release();
    });

  private release(): void {
    for (const waiter of [...this.waiting]) {
      const permits = this.permits.get(waiter.code) ?? 0;
      if (!this.open && permits === 0) continue;
      if (!this.open) this.permits.set(waiter.code, permits - 1);
      this.waiting.splice(this.waiting.indexOf(waiter), 1);
      waiter.go();
    }
  }
}

describe('GET /v1/tickets/{ticketId}/events', () => {
  const t = useTestApi({
    SSE_MAX_STREAMS: String(MAX_STREAMS),
    SSE_HEARTBEAT_MS: String(HEARTBEAT_MS),
    // Only a reconnect (or a message) re-reads the streams here: the periodic re-read would hide what the tests look at.
    SSE_RESYNC_MS: '600000',
    HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    HTTP_HEADERS_TIMEOUT_MS: '300',
    BATCH_SIZE: '1',
  });
  const gate = new BatchGate();
  let worker: IssueWorker;
  let workerRedis: Redis;
  let bullConnection: Redis;
  let workerDb: ReturnType<typeof createDb>;
  const streams: TicketEventStream[] = [];

  const COUPONS = 10;
  beforeAll(async () => {
    const config = t.env.config;
    // Each test has its own coupon (its own line and gate), all created before the worker heals them on start.
    for (let i = 1; i <= COUPONS; i++) await insertCoupon(t, { code: couponCode(i), startsAt: new Date(Date.now() - 60_000), totalQuantity: i === 1 ? 1 : 10 });
    workerRedis = registerCommands(new Redis(config.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 3 }));
    bullConnection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    workerDb = createDb(config.DATABASE_URL, { maxConnections: 4, statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS, applicationName: 'ticket-events-test-worker' });
    const deps = { config, log: createLogger('worker-test', 'silent'), redis: workerRedis as ReturnType<typeof registerCommands>, db: workerDb, hooks: { beforeCommit: gate.beforeCommit } };
    worker = await startIssueWorker(deps, bullConnection);
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    gate.openAll();
    await worker?.close();
    t.api.ticketStreams.close();
    await Promise.allSettled([workerRedis?.quit(), bullConnection?.quit()]);
    await workerDb?.destroy();
  });

  let couponCount = 1;
  /** A fresh open coupon of 10 for one test (its own line, its own gate); `newCoupon(1)`: the one coupon of 1. */
  async function newCoupon(totalQuantity = 10): Promise<string> {
    if (totalQuantity === 1) return couponCode(1);
    return couponCode(++couponCount);
  }

  async function admit(code: string): Promise<{ userId: string; ticketId: string }> {
    const userId = newUserId();
    const res = await requestCoupon(t, code, userId);
    expect(res.status).toBe(202);
    return { userId, ticketId: res.body.ticketId };
  }

  function follow(ticketId: string, userId: string, lastEventId?: string): TicketEventStream {
    const stream = openTicketEventStream({ baseUrl: t.baseUrl, ticketId, headers: { 'x-user-id': userId }, ...(lastEventId !== undefined && { lastEventId }) });
    streams.push(stream);
    return stream;
  }

  const poll = async (ticketId: string, userId: string) => (await get(t, `/v1/tickets/${ticketId}`, userId)).body;

  it("sends the ticket at once: the poll's JSON, id 1, with the headers proxies need", async () => {
    const code = await newCoupon();
    await admit(code);
    const { userId, ticketId } = await admit(code);
    const stream = follow(ticketId, userId);
    await stream.until((s) => s.events.length === 1, 5_000, 'the first event');

    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['cache-control']).toMatch(/no-store/);
    expect(stream.headers['cache-control']).toMatch(/no-cache/);
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.events[0]!.id).toBe('1');
    expect(stream.events[0]!.data).toEqual(await poll(ticketId, userId));
    expect(stream.events[0]!.data).toMatchObject({ status: 'queued', position: 1 });
    stream.close();
  });

  it('pushes the new position when a batch ahead is decided, then the final event, then ends the stream', async () => {
    const code = await newCoupon();
    const ahead = await admit(code);
    const mine = await admit(code);
    const stream = follow(mine.ticketId, mine.userId);
    await stream.until((s) => s.last?.data.position === 1, 5_000, 'position 1');

    gate.allow(code); // the batch of the ticket ahead
    await stream.until((s) => s.last?.data.position === 0, 5_000, 'position 0');
    expect(stream.last!.data).toEqual(await poll(mine.ticketId, mine.userId));
    expect((await poll(ahead.ticketId, ahead.userId)).status).toBe('issued');

    gate.allow(code); // mine
    const end = await stream.endedWithin(10_000);
    expect(end).toEqual({ kind: 'ended', final: true });
    expect(stream.events.map((event) => [event.data.status, event.data.position])).toEqual([
      ['queued', 1],
      ['queued', 0],
      ['issued', undefined],
    ]);
    expect(stream.events.map((event) => event.id)).toEqual(['1', '2', '3']);
    // The final event is exactly what the poll answers.
    expect(stream.last!.data).toEqual(await poll(mine.ticketId, mine.userId));
    expect(stream.last!.data).toMatchObject({ status: 'issued', walletId: mine.ticketId });
  });

  it('ends with the rejection when the coupon runs out', async () => {
    const code = await newCoupon(1);
    await admit(code);
    const loser = await admit(code);
    const stream = follow(loser.ticketId, loser.userId);
    await stream.until((s) => s.events.length === 1, 5_000, 'the first event');
    gate.allow(code, 2);
    expect(await stream.endedWithin(10_000)).toEqual({ kind: 'ended', final: true });
    expect(stream.last!.data).toEqual(await poll(loser.ticketId, loser.userId));
    expect(stream.last!.data).toMatchObject({ status: 'rejected', reason: 'SOLD_OUT' });
  });

  it("answers someone else's ticket and an unknown one 404 TICKET_NOT_FOUND, a malformed id 400, no identity 401", async () => {
    const code = await newCoupon();
    const { ticketId } = await admit(code);
    expectProblem(await get(t, `/v1/tickets/${ticketId}/events`, newUserId()), 'TICKET_NOT_FOUND');
    expectProblem(await get(t, `/v1/tickets/${uuidv7()}/events`, newUserId()), 'TICKET_NOT_FOUND');
    expectProblem(await get(t, '/v1/tickets/not-a-ticket/events', newUserId()), 'INVALID_TICKET_ID');
    expectProblem(await get(t, `/v1/tickets/${ticketId}/events`), 'MISSING_USER_ID');
    // None of them holds a place.
    await waitFor(() => t.api.ticketStreams.openStreams === 0, { message: 'no stream left open' });
  });

  it('a reconnect with Last-Event-ID gets the current state at once: the final event, numbered after the last one seen', async () => {
    const code = await newCoupon();
    const { userId, ticketId } = await admit(code);
    const first = follow(ticketId, userId);
    await first.until((s) => s.events.length === 1, 5_000, 'the first event');
    first.close(); // the client loses its connection…
    gate.allow(code); // …while its ticket is decided
    await waitFor(async () => (await poll(ticketId, userId)).status === 'issued', { message: 'the ticket issued' });

    const again = follow(ticketId, userId, '7');
    expect(await again.endedWithin(10_000)).toEqual({ kind: 'ended', final: true });
    expect(again.events).toHaveLength(1);
    expect(again.events[0]!.id).toBe('8');
    expect(again.events[0]!.data).toEqual(await poll(ticketId, userId));
  });

  it("pings an idle stream, which outlives the listener's request and headers timeouts", async () => {
    const code = await newCoupon();
    const { userId, ticketId } = await admit(code);
    const stream = follow(ticketId, userId);
    let over = false;
    void stream.ended.then(() => (over = true));
    const opened = Date.now();
    await stream.until((s) => s.pings >= 4 && Date.now() - opened > 2 * REQUEST_TIMEOUT_MS, 10_000, 'four pings');
    expect(over).toBe(false);
    expect(stream.events).toHaveLength(1);
    stream.close();
  });

  it('SSE_MAX_STREAMS: one more is 503 OVERLOADED with Retry-After; all of them share one subscription; a client that leaves frees its place', async () => {
    await waitFor(() => t.api.ticketStreams.openStreams === 0, { message: 'earlier streams closed' });
    const code = await newCoupon();
    const open: TicketEventStream[] = [];
    for (let i = 0; i < MAX_STREAMS; i++) {
      const { userId, ticketId } = await admit(code);
      open.push(follow(ticketId, userId));
    }
    await Promise.all(open.map((stream) => stream.until((s) => s.events.length === 1, 5_000, 'the first event')));
    expect(t.api.ticketStreams.openStreams).toBe(MAX_STREAMS);

    const extra = await admit(code);
    const refused = await send(t, 'GET', `/v1/tickets/${extra.ticketId}/events`, { userId: extra.userId });
    expectProblem(refused, 'OVERLOADED');
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);

    // One subscriber connection for the whole process, however many streams.
    const [, subscribers] = (await t.env.redis.pubsub('NUMSUB', ticketEventsChannel(t.env.config.REDIS_PREFIX))) as [string, number];
    expect(subscribers).toBe(1);
    const metrics = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^sse_ticket_streams_open ${MAX_STREAMS}$`, 'm'));

    open[0]!.close();
    await waitFor(() => t.api.ticketStreams.openStreams === MAX_STREAMS - 1, { message: 'the closed stream freed' });
    const now = follow(extra.ticketId, extra.userId);
    await now.until((s) => s.events.length === 1, 5_000, 'the first event');
    expect(now.status).toBe(200);
    for (const stream of [...open, now]) stream.close();
    await waitFor(() => t.api.ticketStreams.openStreams === 0, { message: 'every stream freed' });
  });

  it('after the subscription drops and comes back, every stream is re-read: a decision whose message was lost still ends its stream', async () => {
    const code = await newCoupon();
    const { userId, ticketId } = await admit(code);
    const stream = follow(ticketId, userId);
    await stream.until((s) => s.events.length === 1, 5_000, 'the first event');

    // Decided without a message (as if published while the subscription was away).
    const issuedAtMs = Date.now();
    await decideTicket(t, code, ticketId, { status: 'issued', walletId: ticketId, issuedAtMs });
    const reconnectsBefore = t.api.ticketStreams.reconnects;
    const name = `${t.env.config.REDIS_PREFIX}:ticket-events`;
    const clients = (await t.env.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const id = clients.split('\n').find((line) => line.includes(` name=${name} `))?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await t.env.redis.call('CLIENT', 'KILL', 'ID', id!);

    expect(await stream.endedWithin(10_000)).toEqual({ kind: 'ended', final: true });
    expect(t.api.ticketStreams.reconnects).toBeGreaterThan(reconnectsBefore);
    expect(stream.last!.data).toEqual(await poll(ticketId, userId));
    expect(stream.last!.data).toMatchObject({ status: 'issued', issuedAt: new Date(issuedAtMs).toISOString() });
  });
});
