// What a scenario is, what it is given, and what it hands back for judging.
import type { AppendFsync, RedisServer } from '@coupons/shared/testing';
import type { ChaosCluster, ClusterSpec, CouponSpec } from './cluster.ts';
import type { JudgeRules } from './judge.ts';
import type { BurstShape, Observation } from './traffic.ts';
import type { CouponDemand } from '@coupons/harness/load';

export type { CouponDemand };

/** How big a scenario's event is. */
export interface Sizes {
  /** The scenario's own small coupons: limit and distinct users asking. */
  coupons: { limit: number; users: number }[];
  /** Seeded coupons the burst also asks for (full runs: A0001). */
  seeded: CouponDemand[];
  burst: BurstShape;
  /** How long the backlog may take to drain after the load. */
  drainTimeoutMs: number;
  /** How long polling may take once the backlog has drained. */
  pollDeadlineMs: number;
  /** A dependency stays down at least this many outage-probe rounds (about a quarter second each). */
  outageRounds: number;
}

export const QUICK: Sizes = {
  coupons: [
    { limit: 30, users: 75 },
    { limit: 60, users: 150 },
  ],
  seeded: [],
  burst: { resubmitRate: 0.2, rate: 80, connections: 16, timeoutSeconds: 10 },
  drainTimeoutMs: 45_000,
  pollDeadlineMs: 15_000,
  outageRounds: 10,
};

export const FULL: Sizes = {
  coupons: [
    { limit: 60, users: 180 },
    { limit: 200, users: 500 },
  ],
  seeded: [{ code: 'A0001', users: 750 }],
  burst: { resubmitRate: 0.2, rate: 150, connections: 24, timeoutSeconds: 10 },
  drainTimeoutMs: 90_000,
  pollDeadlineMs: 30_000,
  outageRounds: 25,
};

/**
 * Every process of every scenario: small batches so a coupon takes many of them, a short lease
 * and stalled interval so takeovers happen in a second or two, a fast reconciler, and a
 * Retry-After of one second.
 */
export const SERVICE_ENV: Record<string, string> = {
  BATCH_SIZE: '20',
  LOCK_LEASE_MS: '1500',
  STALLED_INTERVAL_MS: '1000',
  RECONCILE_INTERVAL_MS: '1000',
  RECONCILE_GRACE_MS: '2000',
  RETRY_AFTER_SECONDS: '1',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/** The scenario's coupons (codes `${tag}A`, `${tag}B`, ...) and the burst's demand over them. */
export function scenarioCoupons(tag: string, sizes: Sizes): { coupons: CouponSpec[]; demand: CouponDemand[]; codes: string[] } {
  const coupons = sizes.coupons.map(({ limit }, i) => ({ code: `${tag}${String.fromCharCode(65 + i)}`, limit }));
  const demand = [...coupons.map(({ code }, i) => ({ code, users: sizes.coupons[i]!.users })), ...sizes.seeded];
  return { coupons, demand, codes: demand.map((d) => d.code) };
}

export interface ScenarioContext {
  quick: boolean;
  appendfsync: AppendFsync;
  sizes: Sizes;
  log(line: string): void;
  /** Undone when the scenario ends, last registered first, and on Ctrl-C. */
  defer(cleanup: () => Promise<unknown>): void;
  /** A fresh private redis-server for this scenario (AOF on, the run's fsync policy; `extraArgs` override, e.g. `--appendonly no`). */
  startRedis(options?: { extraArgs?: string[] }): Promise<RedisServer>;
  /** A cluster on `redis`: 2 APIs unless said otherwise, SERVICE_ENV plus `spec.env`. */
  startCluster(redis: RedisServer, spec: Partial<ClusterSpec> & Pick<ClusterSpec, 'coupons' | 'workers'>): Promise<ChaosCluster>;
}

/** What a scenario hands back: the observation to judge, and its own findings. */
export interface ScenarioOutcome {
  observation: Observation;
  /** Per coupon: winners who were only ever answered 503, confirmed by asking again (see explainWallets). */
  silentWinners?: Record<string, number>;
  rules: JudgeRules;
  /** Epoch ms when the fault ended (the component back, or replaced); "drained" counts from it. */
  faultEndedAt: number;
  /** Time to recover, and what it measures in this scenario. */
  recover: { ms: number | null; what: string };
  /** Checks of the scenario's own (the probe's answers, the fenced write, ...). */
  violations: string[];
  inherent?: string[];
  notes: string[];
  /** Extra figures for the JSON (probe answers, memory, fences, ...). */
  details?: Record<string, unknown>;
}

export interface Scenario {
  /** '1', '3-sigterm', '6b', ... */
  id: string;
  /** What --only selects. */
  number: number;
  title: string;
  /** Part of --quick. */
  inQuick: boolean;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}
