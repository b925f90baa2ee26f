// One ticket followed over Server-Sent Events, as a client would: GET /v1/tickets/{id}/events,
// each `event: ticket` parsed (eventsource-parser), pings counted, Last-Event-ID kept for a reconnect.
import http from 'node:http';
import { createParser } from 'eventsource-parser';

/** A ticket as the API sends it (the poll's JSON). */
export interface TicketEventData {
  ticketId: string;
  couponCode: string;
  userId: string;
  status: 'queued' | 'issued' | 'rejected';
  reason?: string;
  position?: number;
  walletId?: string;
  issuedAt?: string;
  createdAt: string;
}

export interface ReceivedTicketEvent {
  id: string | undefined;
  data: TicketEventData;
  /** Date.now() when it was parsed. */
  receivedAt: number;
}

export interface TicketEventStreamOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  ticketId: string;
  /** Identity headers (X-User-Id, Authorization, …). */
  headers: Record<string, string>;
  /** Sent as Last-Event-ID (a reconnect). */
  lastEventId?: string;
  /** Node's agent (a bench raises maxSockets); default: a fresh connection per stream. */
  agent?: http.Agent | false;
  onEvent?: (event: ReceivedTicketEvent) => void;
  onPing?: () => void;
}

/** How a stream ended: the server closed it after the final event, the server refused it, or the connection failed. */
export type StreamEnd =
  | { kind: 'ended'; final: boolean }
  | { kind: 'refused'; status: number; body: string; retryAfter: string | undefined }
  | { kind: 'failed'; error: Error };

const isFinal = (data: TicketEventData) => data.status === 'issued' || data.status === 'rejected';

/** An open stream: its events so far, the answer's status and headers, how it ended. */
export class TicketEventStream {
  readonly events: ReceivedTicketEvent[] = [];
  pings = 0;
  status: number | undefined;
  headers: http.IncomingHttpHeaders = {};
  lastEventId: string | undefined;
  /** Resolves once the stream is over, however it ended (never rejects). */
  readonly ended: Promise<StreamEnd>;
  private readonly request: http.ClientRequest;
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor(options: TicketEventStreamOptions) {
    this.lastEventId = options.lastEventId;
    const url = new URL(`/v1/tickets/${options.ticketId}/events`, options.baseUrl);
    let settle!: (end: StreamEnd) => void;
    this.ended = new Promise((resolve) => (settle = resolve));
    this.request = http.get(url, {
      headers: { accept: 'text/event-stream', ...options.headers, ...(options.lastEventId !== undefined && { 'last-event-id': options.lastEventId }) },
      agent: options.agent ?? false,
    });
    this.request.on('error', (error) => settle({ kind: 'failed', error }));
    this.request.on('response', (res) => {
      this.status = res.statusCode;
      this.headers = res.headers;
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => settle({ kind: 'refused', status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string | undefined }));
        res.on('error', (error) => settle({ kind: 'failed', error }));
        this.notify();
        return;
      }
      const parser = createParser({
        onEvent: (message) => {
          if (message.event !== 'ticket') return;
          const event = { id: message.id, data: JSON.parse(message.data) as TicketEventData, receivedAt: Date.now() };
          if (message.id !== undefined) this.lastEventId = message.id;
          this.events.push(event);
          options.onEvent?.(event);
          this.notify();
        },
        onComment: (comment) => {
          if (comment.trim() !== 'ping') return;
          this.pings += 1;
          options.onPing?.();
          this.notify();
        },
      });
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('end', () => settle({ kind: 'ended', final: this.last !== undefined && isFinal(this.last.data) }));
      res.on('error', (error) => settle({ kind: 'failed', error }));
      res.on('close', () => settle({ kind: 'failed', error: new Error('the connection closed before the stream ended') }));
      this.notify();
    });
    void this.ended.then(() => this.notify());
  }

  /** The last event received. */
  get last(): ReceivedTicketEvent | undefined {
    return this.events.at(-1);
  }

  /** Resolves when `test` holds (checked on every event, ping and end); rejects after `timeoutMs`. */
  until(test: (stream: this) => boolean, timeoutMs = 10_000, what = 'the stream condition'): Promise<void> {
    if (test(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== entry);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (events: ${JSON.stringify(this.events.map((e) => e.data.status + ':' + (e.data.position ?? '')))})`));
      }, timeoutMs);
      const entry = {
        test: () => test(this),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(entry);
    });
  }

  /** How the stream ended, once it has; rejects if it has not within `timeoutMs`. */
  endedWithin(timeoutMs: number): Promise<StreamEnd> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the stream did not end within ${timeoutMs} ms (events: ${this.events.length}, last: ${JSON.stringify(this.last?.data)})`)), timeoutMs);
    });
    return Promise.race([this.ended, timeout]).finally(() => clearTimeout(timer));
  }

  /** Closes the connection (the client goes away). */
  close(): void {
    this.request.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.test()) continue;
      this.waiters = this.waiters.filter((other) => other !== waiter);
      waiter.resolve();
    }
  }
}

/** Opens a stream for one ticket. */
export const openTicketEventStream = (options: TicketEventStreamOptions): TicketEventStream => new TicketEventStream(options);
