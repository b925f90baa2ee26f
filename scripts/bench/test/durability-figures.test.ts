import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type BenchOptions } from '../src/cli-args.ts';
import { computeFigures, summarizeAdmissions, type AdmissionRun, type BenchMeasurements, type DurabilityMeasurements } from '../src/figures.ts';
import { durabilityTable, formatReport, waitCell, type BenchReport } from '../src/report.ts';

const run = (perSecond: number, p99: number, extra: Partial<AdmissionRun> = {}): AdmissionRun => ({
  admissions: 5_000,
  inFlight: 200,
  durationMs: (5_000 * 1000) / perSecond,
  perSecond,
  refused: 0,
  latency: { count: 5_000, p50: p99 / 3, p90: p99 / 2, p99, max: p99 * 2 },
  ...extra,
});

const durability: DurabilityMeasurements = {
  replicaTimeoutMs: 200,
  runs: {
    async: run(5_000, 60),
    groupCommit: run(4_000, 80, { waitRounds: 25, repeats: [3_800, 4_000, 3_900] }),
    waitEach: run(2_000, 200, { waitRounds: 10_000 }),
    everysec: run(5_200, 55),
    always: run(2_600, 120, { refused: 3 }),
  },
};

describe('summarizeAdmissions', () => {
  it('counts confirmed admissions per second, refusals, and the latency of every admission', () => {
    const samples = [5, 1, 3, 2, 4].map((ms, i) => ({ ms, ok: i !== 2 }));
    expect(summarizeAdmissions(samples, 2_000, 200, 3)).toEqual({
      admissions: 5,
      inFlight: 200,
      durationMs: 2_000,
      perSecond: 2,
      refused: 1,
      latency: { count: 5, p50: 3, p90: 5, p99: 5, max: 5 },
      waitRounds: 3,
    });
    expect(summarizeAdmissions([], 0, 1)).toMatchObject({ perSecond: 0, refused: 0, latency: { count: 0, max: 0 } });
    expect(summarizeAdmissions([{ ms: 1, ok: true }], 10, 1)).not.toHaveProperty('waitRounds');
  });
});

describe('durability figures', () => {
  const figures = computeFigures({ durability }).filter((f) => f.id === 'durability');
  const byWhat = (text: string) => figures.find((f) => f.what.includes(text))!;

  it('puts each durable setup over its non-durable twin, in admissions/s with both p99s, without a target', () => {
    expect(figures).toHaveLength(4);
    expect(byWhat('durable (ReplicaAck group commit, 25 WAIT rounds (200 admissions per WAIT)) / async')).toMatchObject({
      ours: { value: 4_000, unit: 'admissions/s' },
      reference: { value: 5_000, unit: 'admissions/s' },
      ratio: 0.8,
      p99: { ours: 80, reference: 60 },
    });
    expect(byWhat('one WAIT per admission on each write connection / async')).toMatchObject({ ratio: 0.4 });
    expect(byWhat('group commit / one WAIT per admission')).toMatchObject({ ratio: 2, ratioStyle: 'times' });
    expect(byWhat('appendfsync always / everysec')).toMatchObject({ ratio: 0.5, p99: { ours: 120, reference: 55 } });
    expect(figures.every((f) => f.target === null && f.verdict === null)).toBe(true);
  });

  it('has no durability rows when the phase did not run', () => {
    expect(computeFigures({}).some((f) => f.id === 'durability')).toBe(false);
  });
});

describe('durability report', () => {
  it('says how many WAITs were sent, per admission or admissions per WAIT', () => {
    expect(waitCell({ admissions: 5_000, waitRounds: 25 })).toBe('25 (200 admissions each)');
    expect(waitCell({ admissions: 5_000, waitRounds: 10_000 })).toBe('10,000 (2 per admission)');
    expect(waitCell({ admissions: 5_000, waitRounds: undefined })).toBe('—');
    expect(waitCell({ admissions: 0, waitRounds: 0 })).toBe('0');
  });

  it('lists every setup with admissions/s, its runs, p50/p99, WAITs and refusals', () => {
    const table = durabilityTable(durability);
    expect(table.split('\n')).toHaveLength(2 + 5);
    expect(table).toContain(
      '| primary + replica, durable: ReplicaAck group commit (ADMISSION_DURABILITY=replica) | 5,000 | 200 | 1.25 s | 4,000 | best of 3: 3,800 · 4,000 · 3,900 | 27 ms | 80 ms | 160 ms | 25 (200 admissions each) | 0 |',
    );
    expect(table).toContain('| single node, appendfsync always, async | 5,000 | 200 | 1.92 s | 2,600 | 1 run | 40 ms | 120 ms | 240 ms | — | 3 |');
  });

  it('is in the report, with the ratios in the figures table', () => {
    const measurements: BenchMeasurements = { durability };
    const report: BenchReport = {
      startedAt: '2026-12-01T00:00:00.000Z',
      durationMs: 60_000,
      options: parseBenchArgs(['--only', 'durability']) as BenchOptions,
      settings: { workerConcurrency: 64, batchSize: 500 },
      machine: { cores: 2, cpuModel: 'Test CPU', node: '20.20.2', redis: '7.0.15', postgres: 'PostgreSQL 15.20' },
      loadAverage: { start: 1, end: 1 },
      measurements,
      figures: computeFigures(measurements),
    };
    const text = formatReport(report);
    expect(text).toMatch(/\| durability \| admissions\/s, single node: appendfsync always \/ everysec \| 2,600 admissions\/s \| 5,200 admissions\/s \| 0\.50 \| — \|  \| 120 ms \/ 55 ms \|/);
    expect(text).toContain('WAIT timeout 200 ms');
    expect(text).toContain('| single node, appendfsync everysec (as deployed), async |');
    expect(text).toContain('Targets: all met ✓');
  });
});
