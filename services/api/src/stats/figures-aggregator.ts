// The dashboard's figures over all replicas, on whichever replica serves the page: every replica
// publishes its own counters (snapshot-publisher.ts); this sums the live ones, adds each coupon's
// status from Postgres and Redis, and keeps a ring of the last minutes for the charts.
import type { RedisClient } from '@coupons/shared/redis';
import type { Logger } from 'pino';
import type { CouponStatus, ReadCouponStatuses } from './coupon-status.ts';
import { historyPoint, OUTCOME_LABELS, type CouponFigures, type Figures, type FiguresUnavailable, type HistoryPoint, type OutcomeCounts } from './figures.ts';
import { histogramQuantile } from './histogram-quantile.ts';
import { readSnapshots } from './read-snapshots.ts';
import type { ReplicaSnapshot } from './replica-snapshot.ts';

export interface FiguresAggregatorOptions {
  redis: RedisClient;
  prefix: string;
  readCoupons: ReadCouponStatuses;
  log: Logger;
  /** How often figures are computed and sent (default 1 s). */
  intervalMs?: number;
  /** Rates (admissions/s, decisions/s) are averaged over this window (default 3 s: snapshots and ticks are not in step). */
  rateWindowMs?: number;
  /** The latency percentiles cover this window (default 10 s). */
  latencyWindowMs?: number;
  /** How much history the charts get (default 10 minutes). */
  historyMs?: number;
  /** With nobody watching, keep computing this long (default 10 minutes), so a reload finds its history. */
  lingerMs?: number;
}

export type FiguresListener = (figures: Figures | FiguresUnavailable) => void;

/**
 * What the aggregator has accumulated by a tick: admissions and latency observations seen since
 * it started, added up from each replica's growth between two of its snapshots (so a replica that
 * dies or joins never makes a total jump), and each coupon's decided high-water mark. Rates are
 * the difference between two of these, divided by the time between them.
 */
interface Flow {
  at: number;
  admitted: Map<string, number>;
  decidedSeq: Map<string, number>;
  /** Latency observations per bucket (cumulative over the buckets, like the histogram's). */
  accept: number[];
}

const ZERO_OUTCOMES = (): OutcomeCounts => ({ admitted: 0, resubmitted: 0, soldOut: 0, paused: 0, overloaded: 0, notOpen: 0 });
const OUTCOME_OF = new Map(Object.entries(OUTCOME_LABELS).flatMap(([count, labels]) => labels.map((label) => [label, count as keyof OutcomeCounts])));

/**
 * Computes the figures once per `intervalMs` while anyone listens (and `lingerMs` after), and
 * hands them to the listeners. One read of the snapshots (registry + MGET) and one of the
 * coupons per tick, whatever the number of viewers.
 */
export class FiguresAggregator {
  readonly #o: Required<Omit<FiguresAggregatorOptions, 'log' | 'readCoupons' | 'redis' | 'prefix'>> & Pick<FiguresAggregatorOptions, 'log' | 'readCoupons' | 'redis' | 'prefix'>;
  readonly #listeners = new Set<FiguresListener>();
  #timer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  #ticking: Promise<Figures | FiguresUnavailable> | undefined;
  /** When the current run of ticks began: a replica that started before it is a baseline, not growth. */
  #runStartedAt = Date.now();
  #lastSnapshots = new Map<string, ReplicaSnapshot>();
  #flows: Flow[] = [];
  #le: number[] | undefined;
  #history: HistoryPoint[] = [];
  #latest: Figures | undefined;

  constructor(options: FiguresAggregatorOptions) {
    this.#o = { intervalMs: 1_000, rateWindowMs: 3_000, latencyWindowMs: 10_000, historyMs: 10 * 60_000, lingerMs: 10 * 60_000, ...options };
  }

  /** The last figures computed, if any. */
  get latest(): Figures | undefined {
    return this.#latest;
  }

  /** The charts' points of the last `historyMs`, oldest first. */
  history(): HistoryPoint[] {
    return [...this.#history];
  }

  /** Listens to every tick's figures; starts the ticks if they were not running. Returns the unsubscribe. */
  subscribe(listener: FiguresListener): () => void {
    this.#listeners.add(listener);
    clearTimeout(this.#lingerTimer);
    this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) return;
      clearTimeout(this.#lingerTimer);
      this.#lingerTimer = setTimeout(() => this.stop(), this.#o.lingerMs).unref();
    };
  }

  #start(): void {
    if (this.#timer) return;
    // A new run: what was accumulated before a pause in watching would make a false spike.
    this.#runStartedAt = Date.now();
    this.#lastSnapshots.clear();
    this.#flows = [];
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs).unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#lingerTimer);
    this.#timer = undefined;
  }

  /** Computes the figures now and sends them to the listeners (the timer calls it; tests too). One tick at a time. */
  tick(now = Date.now()): Promise<Figures | FiguresUnavailable> {
    this.#ticking ??= this.#compute(now)
      .catch((err: Error): FiguresUnavailable => {
        this.#o.log.debug({ err: err.message }, 'dashboard figures unavailable');
        return { at: now, unavailable: 'Redis or Postgres cannot be read; the figures resume when they can.' };
      })
      .then((figures) => {
        for (const listener of this.#listeners) listener(figures);
        return figures;
      })
      .finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #compute(now: number): Promise<Figures> {
    const [snapshots, coupons] = await Promise.all([readSnapshots(this.#o.redis, this.#o.prefix), this.#o.readCoupons()]);
    const flow = this.#advance(now, snapshots, coupons);
    const rateBase = this.#flowAtOrAfter(now - this.#o.rateWindowMs);
    const latencyBase = this.#flowAtOrAfter(now - this.#o.latencyWindowMs);
    this.#flows.push(flow);

    const totals = new Map<string, OutcomeCounts>();
    for (const snapshot of snapshots) {
      for (const [code, byOutcome] of Object.entries(snapshot.admissions)) {
        const counts = totals.get(code) ?? ZERO_OUTCOMES();
        for (const [outcome, n] of Object.entries(byOutcome)) {
          const count = OUTCOME_OF.get(outcome);
          if (count) counts[count] += n;
        }
        totals.set(code, counts);
      }
    }

    const perSecond = (current: number, base: number | undefined, baseAt: number | undefined): number =>
      base === undefined || baseAt === undefined || now <= baseAt ? 0 : round(Math.max(0, current - base) / ((now - baseAt) / 1000));
    const figures: Figures = {
      at: now,
      replicas: snapshots.length,
      acceptLatency: { ...this.#latency(flow, latencyBase), windowSeconds: this.#o.latencyWindowMs / 1000 },
      coupons: coupons.map(
        (coupon): CouponFigures => ({
          code: coupon.code,
          name: coupon.name,
          state: coupon.state,
          totalQuantity: coupon.totalQuantity,
          issued: coupon.issuedQuantity,
          remaining: Math.max(0, coupon.totalQuantity - coupon.issuedQuantity),
          queueDepth: coupon.pending,
          admissionsPerSecond: perSecond(flow.admitted.get(coupon.code) ?? 0, rateBase && (rateBase.admitted.get(coupon.code) ?? 0), rateBase?.at),
          decisionsPerSecond: perSecond(coupon.decidedSeq, rateBase?.decidedSeq.get(coupon.code), rateBase?.at),
          outcomes: totals.get(coupon.code) ?? ZERO_OUTCOMES(),
        }),
      ),
    };
    this.#latest = figures;
    this.#history.push(historyPoint(figures));
    while (this.#history.length > 0 && this.#history[0]!.at < now - this.#o.historyMs) this.#history.shift();
    // Only the windows' worth of flows is needed.
    const keepFrom = now - Math.max(this.#o.rateWindowMs, this.#o.latencyWindowMs) - 2 * this.#o.intervalMs;
    while (this.#flows.length > 1 && this.#flows[0]!.at < keepFrom) this.#flows.shift();
    return figures;
  }

  /** The oldest accumulated flow no older than `since` (the base of a window), if any. */
  #flowAtOrAfter(since: number): Flow | undefined {
    return this.#flows.find((flow) => flow.at >= since) ?? this.#flows.at(-1);
  }

  /** Adds each replica's growth since its previous snapshot to the accumulated flow. */
  #advance(now: number, snapshots: ReplicaSnapshot[], coupons: CouponStatus[]): Flow {
    const previous = this.#flows.at(-1);
    const admitted = new Map(previous?.admitted);
    const accept = [...(previous?.accept ?? [])];
    const live = new Map<string, ReplicaSnapshot>();
    for (const snapshot of snapshots) {
      live.set(snapshot.replica, snapshot);
      // A replica first seen: if it started during this run, all it counted is new; otherwise it is the baseline.
      const before = this.#lastSnapshots.get(snapshot.replica) ?? (snapshot.startedAt >= this.#runStartedAt ? emptySnapshot(snapshot) : snapshot);
      for (const [code, byOutcome] of Object.entries(snapshot.admissions)) {
        const grown = (byOutcome.admitted ?? 0) - (before.admissions[code]?.admitted ?? 0);
        if (grown > 0) admitted.set(code, (admitted.get(code) ?? 0) + grown);
      }
      this.#le ??= snapshot.accept.le.length > 0 ? snapshot.accept.le : undefined;
      // Buckets are the same in every replica of one version; another layout (a rollout) is left out.
      if (this.#le && sameBuckets(this.#le, snapshot.accept.le)) {
        const beforeCounts = sameBuckets(this.#le, before.accept.le) ? before.accept.counts : [];
        snapshot.accept.counts.forEach((count, i) => {
          accept[i] = (accept[i] ?? 0) + Math.max(0, count - (beforeCounts[i] ?? 0));
        });
      }
    }
    this.#lastSnapshots = live;
    return { at: now, admitted, decidedSeq: new Map(coupons.map((c) => [c.code, c.decidedSeq])), accept };
  }

  #latency(flow: Flow, base: Flow | undefined): { p50Ms: number | null; p99Ms: number | null; requests: number } {
    const le = this.#le;
    if (!le || !base) return { p50Ms: null, p99Ms: null, requests: 0 };
    const window = le.map((_, i) => Math.max(0, (flow.accept[i] ?? 0) - (base.accept[i] ?? 0)));
    const ms = (q: number) => {
      const seconds = histogramQuantile(q, le, window);
      return seconds === undefined ? null : round(seconds * 1000);
    };
    return { p50Ms: ms(0.5), p99Ms: ms(0.99), requests: window.at(-1) ?? 0 };
  }
}

function emptySnapshot(snapshot: ReplicaSnapshot): ReplicaSnapshot {
  return { ...snapshot, admissions: {}, accept: { le: snapshot.accept.le, counts: [] } };
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((le, i) => le === b[i]);
}

const round = (n: number): number => Math.round(n * 10) / 10;
