import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ApiMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'route'>;
  admissions: Counter<'coupon' | 'outcome'>;
  queueDepth: Gauge<'coupon'>;
  /** Jobs per issue-queue shard and BullMQ state (QUEUE_SHARDS; metrics/queue-depth.ts). */
  shardJobs: Gauge<'shard' | 'state'>;
  /** Connections the public listener refused or cut (http/server-limits.ts). */
  connectionsRefused: Counter<'reason'>;
  /** Ticket streams (SSE) open on this process. */
  ticketStreamsOpen: Gauge;
  /** Ticket events sent on the streams, by the status they carried. */
  ticketEventsSent: Counter<'status'>;
}

/**
 * The API's Prometheus metrics. `readQueueDepth` is called at scrape time, so the gauge is
 * the backlog (admitted, undecided tickets) per coupon when Prometheus asks.
 */
export function createApiMetrics(
  readQueueDepth: () => Promise<Record<string, number>>,
  openTicketStreams: () => number = () => 0,
  readShardDepths: () => Promise<Record<string, number>[]> = async () => [],
): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    admissions: new Counter({
      name: 'coupon_admissions_total',
      help: 'Issue requests by coupon and admission outcome (admitted, existing, sold_out, overloaded, not_open).',
      labelNames: ['coupon', 'outcome'],
      registers: [registry],
    }),
    connectionsRefused: new Counter({
      name: 'http_connections_refused_total',
      help: 'Connections refused or cut by the public listener: max_connections, per_client, pipelining.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    ticketStreamsOpen: new Gauge({
      name: 'sse_ticket_streams_open',
      help: 'Ticket event streams (GET /v1/tickets/{id}/events) open on this process.',
      registers: [registry],
      collect() {
        this.set(openTicketStreams());
      },
    }),
    ticketEventsSent: new Counter({
      name: 'sse_ticket_events_sent_total',
      help: 'Ticket events sent on the streams, by the status they carried (queued, issued, rejected).',
      labelNames: ['status'],
      registers: [registry],
    }),
    shardJobs: new Gauge({
      name: 'issue_queue_jobs',
      help: 'BullMQ jobs per issue-queue shard and state (wait, active, delayed, failed); a coupon goes to shard FNV-1a(code) mod QUEUE_SHARDS.',
      labelNames: ['shard', 'state'],
      registers: [registry],
      async collect() {
        const shards = await readShardDepths().catch(() => [] as Record<string, number>[]);
        this.reset();
        shards.forEach((counts, shard) => {
          for (const [state, jobs] of Object.entries(counts)) this.set({ shard: String(shard), state }, jobs);
        });
      },
    }),
    queueDepth: new Gauge({
      name: 'coupon_queue_depth',
      help: 'Admitted tickets not yet decided, per coupon.',
      labelNames: ['coupon'],
      registers: [registry],
      async collect() {
        const depths = await readQueueDepth().catch(() => ({}) as Record<string, number>);
        this.reset();
        for (const [coupon, depth] of Object.entries(depths)) this.set({ coupon }, depth);
      },
    }),
  };
}
