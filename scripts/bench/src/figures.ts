// From measurements to figures: each ratio, its target and the verdict. Pure, so the tests
// feed it crafted measurements.
import { percentile, type LatencySummary } from '@coupons/harness/verify';
import type { LoadSummary } from './http-load.ts';
import type { AuthCost } from './auth-cost.ts';
import type { CostMeasurements } from './cost.ts';
import { systemUsPerTicket, type LinearityMeasurements } from './cost-linearity.ts';
import { SSE_P99_TARGET_MS, type SseMeasurements } from './sse.ts';

/** A pre-filled queue drained by worker processes, timed from the queue's resume. */
export interface DrainResult {
  workers: number;
  /** Tickets (ours) or jobs (raw) in the queue at the start. */
  items: number;
  /** Until the last ticket was decided (ours) / the last job left the queue (raw). */
  durationMs: number;
  perSecond: number;
  /** Ours: wallets written (issued_quantity); equal to `items` when every decision was an insert. */
  issued?: number;
  /** Ours: until the queue also had no job left (jobs complete once their ticket is final). */
  jobsDrainedMs?: number;
  /** When measured several times: every run's headline figure (this object is the best run). */
  repeats?: number[];
}

/** This system on the seed's scenario: the burst sent, then every ticket polled until final. */
export interface ScenarioResult {
  requests: number;
  /** From the first request to the last answer. */
  burstMs: number;
  /** From the first request until every request was decided (answered SOLD_OUT, or its ticket final). */
  decidedMs: number | null;
  /**
   * The same as a client saw it: until polling found every ticket final (the burst's figure). Later
   * than `decidedMs` by the poll rounds and by up to a second of autocannon reporting its end late.
   */
  seenFinalMs: number | null;
  /** When the last coupon was issued (its issuedAt), from the first request. */
  soldOutAfterMs: number | null;
  latency: LatencySummary;
  unanswered: number;
  serverErrors: number;
  statusCounts: Record<string, number>;
  issued: number;
  limit: number;
  /** The burst verifier's failed invariants (empty: all hold). */
  failures: string[];
  /** When measured several times: every run's headline figure (this object is the best run). */
  repeats?: number[];
}

/**
 * The durability setups, each on private redis-servers (AOF on, as deployed):
 * - `async`: primary + replica, ADMISSION_DURABILITY=async (answered once the primary has it);
 * - `groupCommit`: the same pair, ADMISSION_DURABILITY=replica (ReplicaAck: one marker + WAIT
 *   covers every admission that asked while the previous round was in flight);
 * - `waitEach`: the same pair, a WAIT 1 on both write connections after every admission
 *   (the obvious way, to show why group commit);
 * - `everysec` / `always`: one node, appendfsync everysec (deployed) / always, async admission.
 */
export const DURABILITY_SETUPS = ['async', 'groupCommit', 'waitEach', 'everysec', 'always'] as const;
export type DurabilitySetup = (typeof DURABILITY_SETUPS)[number];

export const DURABILITY_LABELS: Record<DurabilitySetup, string> = {
  async: 'primary + replica, async (ADMISSION_DURABILITY=async)',
  groupCommit: 'primary + replica, durable: ReplicaAck group commit (ADMISSION_DURABILITY=replica)',
  waitEach: 'primary + replica, durable: one WAIT per admission on each write connection',
  everysec: 'single node, appendfsync everysec (as deployed), async',
  always: 'single node, appendfsync always, async',
};

/** One timed run of `admissions` admissions (admit script + Queue.add [+ confirmation]), `inFlight` at a time. */
export interface AdmissionRun {
  admissions: number;
  inFlight: number;
  /** From the first admission started to the last one settled. */
  durationMs: number;
  /** Confirmed admissions per second over `durationMs`. */
  perSecond: number;
  /** Admissions that would have been answered 503 (no replica acknowledged in time, a Redis error). */
  refused: number;
  /** Per admission, from its start (ReplicaAck.begin) until it was confirmed or refused. */
  latency: LatencySummary;
  /** WAIT commands sent: ReplicaAck's marker + WAIT rounds, or two per admission. */
  waitRounds?: number;
  /** When measured several times: every run's admissions/s (this object is the best run). */
  repeats?: number[];
}

export interface DurabilityMeasurements {
  /** ADMISSION_REPLICA_TIMEOUT_MS: WAIT's timeout in both durable setups. */
  replicaTimeoutMs: number;
  runs: Record<DurabilitySetup, AdmissionRun>;
}

/** A run's figures from each admission's latency (ms) and outcome. Pure. */
export function summarizeAdmissions(
  samples: readonly { ms: number; ok: boolean }[],
  durationMs: number,
  inFlight: number,
  waitRounds?: number,
): AdmissionRun {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const confirmed = samples.filter((s) => s.ok).length;
  return {
    admissions: samples.length,
    inFlight,
    durationMs,
    perSecond: durationMs > 0 ? (confirmed * 1000) / durationMs : 0,
    refused: samples.length - confirmed,
    latency: { count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    ...(waitRounds !== undefined && { waitRounds }),
  };
}

export interface BenchMeasurements {
  accept?: { ceiling: LoadSummary; api: LoadSummary };
  drain?: { raw: DrainResult; ours: DrainResult };
  seed?: {
    /** The bare echo answering as many requests as the scenario has, at the same concurrency. */
    echo: LoadSummary;
    baselineDecisions: LoadSummary;
    oursDecisions: DrainResult;
    baselineScenario: LoadSummary;
    oursScenario: ScenarioResult;
  };
  scaling?: DrainResult[];
  durability?: DurabilityMeasurements;
  auth?: AuthCost;
  cost?: CostMeasurements;
  linearity?: LinearityMeasurements;
  sse?: SseMeasurements;
}

export type Unit = 'req/s' | 'decisions/s' | 'jobs/s' | 'admissions/s' | 'ms' | 'count' | 'µs CPU';

export interface Quantity {
  value: number;
  unit: Unit;
}

/** What passes: the ratio (or, for counts, the value itself) compared with `value`. */
export interface Target {
  of: 'ratio' | 'value';
  op: '>=' | '<=' | '=';
  value: number;
}

export interface FigureRow {
  id: string;
  /** What is compared with what. */
  what: string;
  ours: Quantity;
  reference: Quantity | null;
  /** ours / reference. */
  ratio: number | null;
  /** How to print the ratio: 0.74, 24.1× or 1/163. */
  ratioStyle: 'plain' | 'times' | 'fraction';
  target: Target | null;
  verdict: 'pass' | 'fail' | null;
  /** Request latency p99 in ms, where the figure has requests. */
  p99?: { ours?: number; reference?: number };
}

export function ratioOf(ours: number, reference: number): number | null {
  return reference > 0 && Number.isFinite(ours) && Number.isFinite(reference) ? ours / reference : null;
}

export function judge(target: Target | null, ratio: number | null, value: number): FigureRow['verdict'] {
  if (!target) return null;
  const measured = target.of === 'ratio' ? ratio : value;
  if (measured === null || !Number.isFinite(measured)) return 'fail';
  if (target.op === '>=') return measured >= target.value ? 'pass' : 'fail';
  if (target.op === '<=') return measured <= target.value ? 'pass' : 'fail';
  return measured === target.value ? 'pass' : 'fail';
}

function row(
  id: string,
  what: string,
  ours: Quantity,
  reference: Quantity | null,
  ratioStyle: FigureRow['ratioStyle'],
  target: Target | null,
  p99?: FigureRow['p99'],
): FigureRow {
  const ratio = reference ? ratioOf(ours.value, reference.value) : null;
  return { id, what, ours, reference, ratio, ratioStyle, target, verdict: judge(target, ratio, ours.value), ...(p99 && { p99 }) };
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** Every figure that the measurements allow, in the order of the performance issue. */
export function computeFigures(m: BenchMeasurements): FigureRow[] {
  const rows: FigureRow[] = [];
  if (m.accept) {
    const { ceiling, api } = m.accept;
    rows.push(
      row(
        'P1',
        `accept rps: this API (admit + enqueue) / bare express 5 echo, ${count(api.requests)} requests each`,
        { value: api.rps, unit: 'req/s' },
        { value: ceiling.rps, unit: 'req/s' },
        'plain',
        { of: 'ratio', op: '>=', value: 0.75 },
        { ours: api.latency.p99, reference: ceiling.latency.p99 },
      ),
    );
  }
  if (m.auth) {
    const { trusted, jwt } = m.auth;
    rows.push(
      row(
        'auth',
        `API CPU per admitted request: AUTH_MODE=jwt (RS256, a new token each: no cache hit) / trusted-header, ${count(jwt.requests)} requests each`,
        { value: jwt.cpuPerAdmittedUs, unit: 'µs CPU' },
        { value: trusted.cpuPerAdmittedUs, unit: 'µs CPU' },
        'plain',
        { of: 'ratio', op: '<=', value: 1.15 },
        { ours: jwt.latency.p99, reference: trusted.latency.p99 },
      ),
    );
  }
  if (m.cost) {
    const { admitted, soldOut, polls, echoPerRequestUs } = m.cost;
    const redisUs = (s: typeof admitted) => ({ value: s.perUnitUs.redis ?? 0, unit: 'µs CPU' as const });
    rows.push(
      row('cost', `Redis CPU per admitted ticket, end to end (admission, enqueue, drain, resolve), ${count(admitted.units)} tickets`, redisUs(admitted), null, 'plain', { of: 'value', op: '<=', value: 40 }),
      row('cost', `Redis CPU per SOLD_OUT answer, ${count(soldOut.units)} answers`, redisUs(soldOut), null, 'plain', { of: 'value', op: '<=', value: 10 }),
      row('cost', `Redis CPU per poll of a final ticket, ${count(polls.units)} polls`, redisUs(polls), null, 'plain', { of: 'value', op: '<=', value: 10 }),
      row(
        'cost',
        'API CPU per admitted request / the bare echo\'s per request',
        { value: admitted.perUnitUs.api ?? 0, unit: 'µs CPU' },
        { value: echoPerRequestUs, unit: 'µs CPU' },
        'plain',
        { of: 'ratio', op: '<=', value: 1.5 },
      ),
    );
  }
  if (m.linearity) {
    const { small, large } = m.linearity;
    const us = (value: number) => ({ value, unit: 'µs CPU' as const });
    rows.push(
      row('linear', `Redis CPU per admitted ticket at ${count(large.admitted.units)} / at ${count(small.admitted.units)} tickets`, us(large.admitted.perUnitUs.redis ?? 0), us(small.admitted.perUnitUs.redis ?? 0), 'plain', { of: 'ratio', op: '<=', value: 1.1 }),
      row('linear', `CPU per admitted ticket, every process but the load generator, at ${count(large.admitted.units)} / at ${count(small.admitted.units)}`, us(systemUsPerTicket(large)), us(systemUsPerTicket(small)), 'plain', { of: 'ratio', op: '<=', value: 1.1 }),
    );
  }
  if (m.drain) {
    const { raw, ours } = m.drain;
    rows.push(
      row(
        'P2',
        `decisions/s of ${ours.workers} worker on ${count(ours.items)} queued tickets / raw BullMQ no-op jobs/s`,
        { value: ours.perSecond, unit: 'decisions/s' },
        { value: raw.perSecond, unit: 'jobs/s' },
        'plain',
        { of: 'ratio', op: '>=', value: 0.6 },
      ),
    );
  }
  if (m.seed) {
    const { echo, baselineDecisions, oursDecisions, baselineScenario, oursScenario } = m.seed;
    rows.push(
      row(
        'P3',
        `decisions/s, ${count(oursDecisions.items)} users on a ${count(oursDecisions.items)} limit: this worker (queued) / seed design (lock, count, insert per request)`,
        { value: oursDecisions.perSecond, unit: 'decisions/s' },
        { value: baselineDecisions.rps, unit: 'decisions/s' },
        'times',
        { of: 'ratio', op: '>=', value: 20 },
        { reference: baselineDecisions.latency.p99 },
      ),
      row(
        'P3',
        `seed scenario POST p99, ${count(oursScenario.requests)} users on A0001 (limit ${oursScenario.limit}): this system / seed design`,
        { value: oursScenario.latency.p99, unit: 'ms' },
        { value: baselineScenario.latency.p99, unit: 'ms' },
        'fraction',
        { of: 'ratio', op: '<=', value: 1 / 50 },
        { ours: oursScenario.latency.p99, reference: baselineScenario.latency.p99 },
      ),
      row(
        'P3',
        'seed scenario, time until every request is decided: this system (tickets final) / seed design (all answered)',
        { value: oursScenario.decidedMs ?? Number.NaN, unit: 'ms' },
        { value: baselineScenario.durationMs, unit: 'ms' },
        'fraction',
        null,
      ),
      row(
        'P4',
        `seed scenario, time until all ${count(oursScenario.requests)} decided / bare echo answering ${count(echo.requests)}`,
        { value: oursScenario.decidedMs ?? Number.NaN, unit: 'ms' },
        { value: echo.durationMs, unit: 'ms' },
        'plain',
        { of: 'ratio', op: '<=', value: 1.25 },
        { ours: oursScenario.latency.p99, reference: echo.latency.p99 },
      ),
      row(
        'P4',
        'seed scenario: refused connections, timeouts and 5xx (this system)',
        { value: oursScenario.unanswered + oursScenario.serverErrors, unit: 'count' },
        null,
        'plain',
        { of: 'value', op: '=', value: 0 },
      ),
    );
  }
  if (m.scaling && m.scaling.length > 0) {
    const base = m.scaling.find((r) => r.workers === 1) ?? m.scaling[0]!;
    for (const result of m.scaling) {
      rows.push(
        row(
          'scaling',
          `decisions/s with ${result.workers} worker process${result.workers === 1 ? '' : 'es'} / with ${base.workers}, ${count(result.items)} queued tickets`,
          { value: result.perSecond, unit: 'decisions/s' },
          { value: base.perSecond, unit: 'decisions/s' },
          'times',
          null,
        ),
      );
    }
  }
  if (m.durability) rows.push(...durabilityFigures(m.durability));
  if (m.sse) {
    const { streams, opened, latencyMs } = m.sse;
    rows.push(
      row('sse', `ticket streams open at once on one API process (each got its first event)`, { value: opened, unit: 'count' }, null, 'plain', { of: 'value', op: '=', value: streams }),
      row('sse', `commit → client latency of the final events, p99 (p50 ${Math.round(latencyMs.p50)} ms), ${count(streams)} streams`, { value: latencyMs.p99, unit: 'ms' }, null, 'plain', { of: 'value', op: '<=', value: SSE_P99_TARGET_MS }),
    );
  }
  return rows;
}

/** The cost of durability: each durable setup / its non-durable twin, in admissions/s, with both p99s. */
function durabilityFigures({ runs }: DurabilityMeasurements): FigureRow[] {
  const perSecond = (run: AdmissionRun): Quantity => ({ value: run.perSecond, unit: 'admissions/s' });
  const compare = (what: string, ours: AdmissionRun, reference: AdmissionRun, style: FigureRow['ratioStyle'] = 'plain') =>
    row('durability', what, perSecond(ours), perSecond(reference), style, null, { ours: ours.latency.p99, reference: reference.latency.p99 });
  const { async, groupCommit, waitEach, everysec, always } = runs;
  const rounds = groupCommit.waitRounds;
  const perRound = rounds ? ` (${count(groupCommit.admissions / rounds)} admissions per WAIT)` : '';
  return [
    compare(`admissions/s, primary + replica: durable (ReplicaAck group commit, ${rounds === undefined ? '?' : count(rounds)} WAIT rounds${perRound}) / async`, groupCommit, async),
    compare('admissions/s, primary + replica: one WAIT per admission on each write connection / async', waitEach, async),
    compare('admissions/s, primary + replica: group commit / one WAIT per admission', groupCommit, waitEach, 'times'),
    compare('admissions/s, single node: appendfsync always / everysec', always, everysec),
  ];
}
