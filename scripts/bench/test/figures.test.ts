import { describe, expect, it } from 'vitest';
import { computeFigures, judge, ratioOf, type BenchMeasurements, type DrainResult, type ScenarioResult } from '../src/figures.ts';
import type { LoadSummary } from '../src/http-load.ts';

function load(rps: number, p99: number, durationMs = 1_000, requests = 1_000): LoadSummary {
  return {
    requests,
    answered: requests,
    unanswered: 0,
    serverErrors: 0,
    statusCounts: { '202': requests },
    durationMs,
    rps,
    latency: { count: requests, p50: p99 / 2, p90: p99 / 1.5, p99, max: p99 * 2 },
  };
}

const drain = (workers: number, perSecond: number, items = 10_000): DrainResult => ({ workers, items, durationMs: (items * 1000) / perSecond, perSecond });

const scenario = (overrides: Partial<ScenarioResult> = {}): ScenarioResult => ({
  requests: 10_000,
  burstMs: 1_400,
  decidedMs: 1_500,
  seenFinalMs: 1_600,
  soldOutAfterMs: 300,
  latency: { count: 10_000, p50: 20, p90: 40, p99: 50, max: 90 },
  unanswered: 0,
  serverErrors: 0,
  statusCounts: { '202': 320, '409 SOLD_OUT': 9_680 },
  issued: 300,
  limit: 300,
  failures: [],
  ...overrides,
});

const measurements: BenchMeasurements = {
  accept: { ceiling: load(8_000, 20), api: load(6_400, 30) },
  drain: { raw: drain(1, 20_000), ours: drain(1, 11_000) },
  seed: {
    echo: load(8_000, 20, 1_250, 10_000),
    baselineDecisions: load(500, 3_000, 20_000, 10_000),
    oursDecisions: drain(1, 12_000),
    baselineScenario: load(800, 3_200, 12_500, 10_000),
    oursScenario: scenario(),
  },
  scaling: [drain(1, 11_000), drain(2, 13_200), drain(4, 5_500)],
};

describe('ratios and verdicts', () => {
  it('divides ours by the reference, and has no ratio without a positive reference', () => {
    expect(ratioOf(6, 8)).toBe(0.75);
    expect(ratioOf(6, 0)).toBeNull();
    expect(ratioOf(Number.NaN, 8)).toBeNull();
  });

  it('judges at the boundary, and fails a figure that could not be measured', () => {
    expect(judge({ of: 'ratio', op: '>=', value: 0.75 }, 0.75, 0)).toBe('pass');
    expect(judge({ of: 'ratio', op: '>=', value: 0.75 }, 0.7499, 0)).toBe('fail');
    expect(judge({ of: 'ratio', op: '<=', value: 1.25 }, 1.25, 0)).toBe('pass');
    expect(judge({ of: 'value', op: '=', value: 0 }, null, 0)).toBe('pass');
    expect(judge({ of: 'value', op: '=', value: 0 }, null, 3)).toBe('fail');
    expect(judge({ of: 'ratio', op: '>=', value: 20 }, null, 0)).toBe('fail');
    expect(judge(null, 3, 3)).toBeNull();
  });
});

describe('computeFigures', () => {
  const figures = computeFigures(measurements);
  const byWhat = (id: string, text: string) => figures.find((f) => f.id === id && f.what.includes(text))!;

  it('computes P1 and P2 as ours / reference against their targets, with the p99s', () => {
    const p1 = byWhat('P1', 'accept');
    expect(p1).toMatchObject({ ratio: 0.8, verdict: 'pass', p99: { ours: 30, reference: 20 }, target: { op: '>=', value: 0.75 } });
    expect(byWhat('P2', 'raw BullMQ')).toMatchObject({ ratio: 0.55, verdict: 'fail' });
  });

  it('computes P3 as a multiple in decisions/s and as a fraction of the baseline p99', () => {
    expect(byWhat('P3', 'decisions/s')).toMatchObject({ ratio: 24, ratioStyle: 'times', verdict: 'pass' });
    const p99 = byWhat('P3', 'p99');
    expect(p99.ratio).toBeCloseTo(50 / 3_200);
    expect(p99).toMatchObject({ ratioStyle: 'fraction', verdict: 'pass' });
    expect(byWhat('P3', 'time until')).toMatchObject({ ratio: 1_500 / 12_500, target: null, verdict: null });
  });

  it('computes P4 from the time until all were decided and counts errors against zero', () => {
    expect(byWhat('P4', 'decided')).toMatchObject({ ratio: 1.2, verdict: 'pass' });
    expect(byWhat('P4', 'refused')).toMatchObject({ ours: { value: 0 }, verdict: 'pass' });
    const broken = computeFigures({ ...measurements, seed: { ...measurements.seed!, oursScenario: scenario({ decidedMs: null, unanswered: 2, serverErrors: 1 }) } });
    expect(broken.find((f) => f.id === 'P4' && f.what.includes('decided'))).toMatchObject({ ratio: null, verdict: 'fail' });
    expect(broken.find((f) => f.id === 'P4' && f.what.includes('refused'))).toMatchObject({ ours: { value: 3 }, verdict: 'fail' });
  });

  it('puts scaling relative to one worker, without a target', () => {
    const scaling = figures.filter((f) => f.id === 'scaling');
    expect(scaling.map((f) => Number(f.ratio!.toFixed(6)))).toEqual([1, 1.2, 0.5]);
    expect(scaling.every((f) => f.target === null && f.verdict === null)).toBe(true);
  });

  it('has rows only for the phases that ran', () => {
    expect(computeFigures({ drain: measurements.drain }).map((f) => f.id)).toEqual(['P2']);
    expect(computeFigures({})).toEqual([]);
  });

  it('judges the cost linear when the large run costs at most 10 % more per ticket, Redis and the whole system', () => {
    const size = (units: number, perUnitUs: Record<string, number>) => ({
      admissions: units,
      admitted: { units, perUnitUs, cpu: { seconds: {}, redisUsecByFamily: {}, redisCallsByFamily: {}, wallSeconds: 1 } },
      redisBytesPerTicket: 400,
    });
    const small = size(20_000, { api: 300, worker: 150, redis: 70, postgres: 80, 'load generator': 100 });
    const linear = computeFigures({ linearity: { small, large: size(200_000, { api: 310, worker: 160, redis: 75, postgres: 80, 'load generator': 500 }) } });
    expect(linear.map((f) => [f.id, Number(f.ratio!.toFixed(4)), f.verdict])).toEqual([
      ['linear', Number((75 / 70).toFixed(4)), 'pass'],
      ['linear', Number((625 / 600).toFixed(4)), 'pass'],
    ]);
    const redisGrew = computeFigures({ linearity: { small, large: size(200_000, { api: 300, worker: 150, redis: 80, postgres: 80 }) } });
    expect(redisGrew.map((f) => f.verdict)).toEqual(['fail', 'pass']);
  });
});
