// What one burst observed, in the shapes the verifier reads. Plain data: a crafted run in a
// test and a real run from the load generator go through the same `verifyBurst`.
import type { AnsweredRequest } from '@coupons/shared/testing';

/** The clock every time below is on: epoch milliseconds with sub-millisecond precision. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * One POST as the client saw it. `status` 0 and `answeredAt` null: no answer came back
 * (timeout or broken connection).
 */
export interface RecordedRequest extends Omit<AnsweredRequest, 'answeredAt'> {
  answeredAt: number | null;
  /** `position` of a 202/200 answer: the ticket's place in its coupon's line. */
  position?: number;
}

export type TicketStatus = 'queued' | 'issued' | 'rejected';

/** Where a ticket ended up after polling; `status` null: never read successfully. */
export interface TicketOutcome {
  ticketId: string;
  userId: string;
  couponCode: string;
  status: TicketStatus | null;
  reason?: string;
  /** Epoch ms of the ticket's `issuedAt` (the server's clock). */
  issuedAt?: number;
  /** Epoch ms when polling first saw it final. */
  finalSeenAt?: number;
  /** HTTP status of the last poll (404 means the API no longer knows a ticket it handed out). */
  lastPollStatus?: number;
}

/** The truth about one coupon once the burst is over. */
export interface CouponFacts {
  code: string;
  limit: number;
  /** `issued_quantity` from Postgres when reachable, else `issuedQuantity` from GET /v1/coupons. */
  issued: number;
  source: 'postgres' | 'api';
  /** Postgres only: wallet rows and distinct users among them. */
  wallets?: number;
  distinctWalletUsers?: number;
}

export interface BurstRun {
  /** True when this run started its own cluster on a fresh database: nothing was issued before it. */
  fresh: boolean;
  /** Epoch ms when the first request was sent. */
  startedAt: number;
  requests: RecordedRequest[];
  tickets: TicketOutcome[];
  /**
   * When polling saw the last ticket of every coupon's line final, with every other ticket found
   * final right after; null when that did not hold (then only each ticket's finalSeenAt counts).
   */
  decidedAt?: number | null;
  coupons: CouponFacts[];
}
