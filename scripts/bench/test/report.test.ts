import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type BenchOptions } from '../src/cli-args.ts';
import { computeFigures, type BenchMeasurements } from '../src/figures.ts';
import { formatDuration, formatQuantity, formatRatio, formatReport, formatTarget, markdownTable, type BenchReport } from '../src/report.ts';

describe('formatting', () => {
  it('prints ratios in the style of their figure', () => {
    expect(formatRatio(0.7449, 'plain')).toBe('0.74');
    expect(formatRatio(24.26, 'times')).toBe('24×');
    expect(formatRatio(1.26, 'times')).toBe('1.3×');
    expect(formatRatio(1 / 163.2, 'fraction')).toBe('1/163');
    expect(formatRatio(1.5, 'fraction')).toBe('1.50');
    expect(formatRatio(null, 'plain')).toBe('—');
    expect(formatRatio(Number.NaN, 'times')).toBe('—');
  });

  it('prints targets the same way', () => {
    expect(formatTarget({ of: 'ratio', op: '>=', value: 0.75 }, 'plain')).toBe('≥ 0.75');
    expect(formatTarget({ of: 'ratio', op: '>=', value: 20 }, 'times')).toBe('≥ 20×');
    expect(formatTarget({ of: 'ratio', op: '<=', value: 1 / 50 }, 'fraction')).toBe('≤ 1/50');
    expect(formatTarget({ of: 'value', op: '=', value: 0 }, 'plain')).toBe('= 0');
    expect(formatTarget(null, 'plain')).toBe('—');
  });

  it('prints quantities and durations with their units', () => {
    expect(formatQuantity({ value: 8_214.4, unit: 'req/s' })).toBe('8,214 req/s');
    expect(formatQuantity({ value: 3_210, unit: 'ms' })).toBe('3.21 s');
    expect(formatQuantity({ value: Number.NaN, unit: 'ms' })).toBe('—');
    expect(formatQuantity(null)).toBe('—');
    expect(formatDuration(4.26)).toBe('4.3 ms');
    expect(formatDuration(412.4)).toBe('412 ms');
  });

  it('writes a markdown table, escaping pipes in cells', () => {
    expect(markdownTable(['a', 'b'], [['1', 'x | y']])).toBe('| a | b |\n| --- | --- |\n| 1 | x \\| y |');
  });
});

describe('formatReport', () => {
  const measurements: BenchMeasurements = {
    drain: {
      raw: { workers: 1, items: 20_000, durationMs: 1_000, perSecond: 20_000 },
      ours: { workers: 1, items: 20_000, durationMs: 2_000, perSecond: 10_000, issued: 20_000, jobsDrainedMs: 2_500, repeats: [8_000, 10_000] },
    },
  };
  const report: BenchReport = {
    startedAt: '2026-11-27T06:00:00.000Z',
    durationMs: 95_000,
    options: parseBenchArgs([]) as BenchOptions,
    settings: { workerConcurrency: 64, batchSize: 500 },
    machine: { cores: 2, cpuModel: 'Test CPU', node: '20.20.2', redis: '7.0.15', postgres: 'PostgreSQL 15.20' },
    loadAverage: { start: 0.4, end: 1.9 },
    measurements,
    figures: computeFigures(measurements),
  };
  const text = formatReport(report);

  it('has the machine, the figures table with ratio, target and verdict, and the drains', () => {
    expect(text).toContain('Machine: 2 cores (Test CPU), Node 20.20.2, Redis 7.0.15, PostgreSQL 15.20');
    expect(text).toContain('| figure | what (this system / reference) | this system | reference | ratio | target | result | p99 this / ref |');
    expect(text).toMatch(/\| P2 \| .* \| 10,000 decisions\/s \| 20,000 jobs\/s \| 0\.50 \| ≥ 0\.60 \| ✗ FAIL \| — \|/);
    expect(text).toContain('| P2 this worker (wallet inserts) | 1 | 20,000 | 2.00 s | 10,000 | best of 2: 8,000 · 10,000 | 20,000 | 2.50 s |');
    expect(text).toContain('| P2 raw BullMQ, no-op processor | 1 | 20,000 | 1.00 s | 20,000 | 1 run | — | — |');
    expect(text).toContain('Targets: missed by P2 ✗');
  });
});
