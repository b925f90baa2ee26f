// What one run observed, in the shapes the verifier reads. Plain data: a crafted run in a test
// and a real run (burst, chaos scenario, process test) go through the same `verifyRun`.
import type { RecordedRequest } from '../load/index.ts';

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

export const isFinal = (ticket: TicketOutcome | undefined): boolean => ticket?.status === 'issued' || ticket?.status === 'rejected';

/** The truth about one coupon once the run is over. */
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

export interface ObservedRun {
  /** True when the run had its own fresh database: nothing was issued before it. */
  fresh: boolean;
  /** Epoch ms when the first request was sent. */
  startedAt: number;
  requests: readonly RecordedRequest[];
  tickets: readonly TicketOutcome[];
  /**
   * When polling saw the last ticket of every coupon's line final, with every other ticket found
   * final right after; null when that did not hold (then only each ticket's finalSeenAt counts).
   */
  decidedAt?: number | null;
  coupons: readonly CouponFacts[];
  /**
   * Ids of the coupons' wallets in Postgres (a wallet's id is its winning ticket's): a ticket that
   * ended issued must have one, and a ticket that won must never be lost.
   */
  walletIds?: ReadonlySet<string>;
  /**
   * Per coupon: winners who were answered only 503 (admitted as Redis went away) and got their
   * issued ticket when they asked again. They hold a wallet no polled ticket shows.
   */
  silentWinners?: Readonly<Record<string, number>>;
}
