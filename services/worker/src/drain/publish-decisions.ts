import { encodeDecidedBatch, ticketEventsChannel, type DecidedTicket } from '@coupons/shared/redis';
import type { IssuedBatch } from '../issuance/issue-batch.ts';
import type { WorkerDeps } from '../worker-deps.ts';

/**
 * Tells the API processes that a batch is decided (one PUBLISH per batch; they push the final
 * events to the tickets' SSE streams and fresh positions to the rest of the coupon's streams).
 *
 * Called after the batch's commit and its resolve in Redis, and never awaited: the decisions are
 * in Postgres and Redis already, so a publish that fails or hangs must not fail or slow the drain.
 * A lost message only delays the events: the API re-reads its streams periodically and after its
 * subscription reconnects (services/api/src/sse/ticket-stream-hub.ts).
 */
export function publishDecisions(deps: Pick<WorkerDeps, 'redis' | 'config' | 'log'>, couponCode: string, batch: IssuedBatch, committedAtMs: number): void {
  const tickets = batch.decisions.map(
    (decision): DecidedTicket =>
      decision.status === 'issued'
        ? { ticketId: decision.ticketId, status: 'issued', issuedAtMs: batch.issuedAt.get(decision.ticketId) ?? committedAtMs }
        : { ticketId: decision.ticketId, status: 'rejected', ...(decision.reason && { reason: decision.reason }) },
  );
  const message = encodeDecidedBatch({ couponCode, decidedSeq: batch.decidedSeq, committedAtMs, tickets });
  deps.redis.publish(ticketEventsChannel(deps.config.REDIS_PREFIX), message).catch((error: Error) => {
    deps.log.warn({ coupon: couponCode, err: error.message }, 'ticket events not published (the API re-reads its streams)');
  });
}
