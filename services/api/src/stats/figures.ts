// The figures the dashboard shows, once a second (figures-aggregator.ts computes them, the
// dashboard's stream sends them as they are).
import type { CouponState } from './coupon-status.ts';

/** Issue requests by how admission answered, summed over the live replicas since each started. */
export interface OutcomeCounts {
  /** 202: a new ticket. */
  admitted: number;
  /** 200: the user already had a ticket (outcome `existing`). */
  resubmitted: number;
  /** 409 SOLD_OUT. */
  soldOut: number;
  /** 409 EVENT_PAUSED. */
  paused: number;
  /** 503 OVERLOADED (the backlog bound). */
  overloaded: number;
  /** 409 EVENT_NOT_OPEN (scheduled, ended or closed). */
  notOpen: number;
}

/** The admission outcomes (coupon_admissions_total's `outcome` label) each count adds up. */
export const OUTCOME_LABELS: Record<keyof OutcomeCounts, readonly string[]> = {
  admitted: ['admitted'],
  resubmitted: ['existing'],
  soldOut: ['sold_out'],
  paused: ['paused'],
  overloaded: ['overloaded'],
  notOpen: ['not_open', 'closed'],
};

export interface CouponFigures {
  code: string;
  name: string;
  state: CouponState;
  totalQuantity: number;
  issued: number;
  remaining: number;
  /** Admitted tickets not decided yet (the pending set). */
  queueDepth: number;
  /** New tickets per second over all replicas (the last few seconds). */
  admissionsPerSecond: number;
  /** Tickets decided (issued or rejected) per second, from the decided high-water mark. */
  decisionsPerSecond: number;
  outcomes: OutcomeCounts;
}

export interface Figures {
  /** When the aggregator computed them (ms since the epoch). */
  at: number;
  /** Replicas whose snapshot is live (published within its TTL). */
  replicas: number;
  /** The issue request's latency as the API measures it, over all replicas, the last `windowSeconds`. */
  acceptLatency: { p50Ms: number | null; p99Ms: number | null; requests: number; windowSeconds: number };
  coupons: CouponFigures[];
}

/** A tick whose sources could not be read (Redis or Postgres away): the page says so and keeps the last figures. */
export interface FiguresUnavailable {
  at: number;
  unavailable: string;
}

/** One point of the charts' history (the ring of the last minutes). */
export interface HistoryPoint {
  at: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Per coupon code: admissions/s, decisions/s. */
  coupons: Record<string, { admissions: number; decisions: number }>;
}

export function historyPoint(figures: Figures): HistoryPoint {
  return {
    at: figures.at,
    p50Ms: figures.acceptLatency.p50Ms,
    p99Ms: figures.acceptLatency.p99Ms,
    coupons: Object.fromEntries(figures.coupons.map((c) => [c.code, { admissions: c.admissionsPerSecond, decisions: c.decisionsPerSecond }])),
  };
}
