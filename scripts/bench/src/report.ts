// The markdown report (figures with ratios and targets, then what each load and drain saw)
// and its JSON twin. Pure: formatReport takes a finished report.
import type { CostMeasurements } from './cost.ts';
import type { LinearityMeasurements } from './cost-linearity.ts';
import { SSE_P99_TARGET_MS, type SseMeasurements } from './sse.ts';
import type { BenchOptions } from './cli-args.ts';
import { DURABILITY_LABELS, DURABILITY_SETUPS, type AdmissionRun, type BenchMeasurements, type DrainResult, type DurabilityMeasurements, type FigureRow, type Quantity, type Target } from './figures.ts';
import type { LoadSummary } from './http-load.ts';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  redis: string;
  postgres: string;
}

export interface BenchReport {
  startedAt: string;
  durationMs: number;
  options: BenchOptions;
  /** The service settings the workers ran with. */
  settings: { workerConcurrency: number; batchSize: number };
  machine: MachineInfo;
  /** 1-minute load average when the run started and ended: above ~1, other work shared the cores. */
  loadAverage: { start: number; end: number };
  measurements: BenchMeasurements;
  figures: FigureRow[];
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1_000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1_000).toFixed(2)} s`;
}

export function formatQuantity(q: Quantity | null): string {
  if (!q || !Number.isFinite(q.value)) return '—';
  if (q.unit === 'ms') return formatDuration(q.value);
  if (q.unit === 'count') return count(q.value);
  return `${count(q.value)} ${q.unit}`;
}

function formatNumber(value: number, style: FigureRow['ratioStyle']): string {
  if (style === 'times') return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)}×`;
  if (style === 'fraction' && value < 1) return `1/${(1 / value).toFixed(0)}`;
  return value.toFixed(2);
}

export function formatRatio(ratio: number | null, style: FigureRow['ratioStyle']): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : formatNumber(ratio, style);
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The sse phase in a paragraph: streams, memory per stream, latency. */
export function sseNote(s: SseMeasurements): string {
  return (
    `SSE: ${count(s.opened)} of ${count(s.streams)} ticket streams open at once on one API process in ${formatDuration(s.openMs)} ` +
    `(${s.failed} failed, ${s.refused} refused); the API process: RSS ${mib(s.before.rssBytes)} → ${mib(s.withStreams.rssBytes)}, ` +
    `V8 heap ${mib(s.before.heapUsedBytes)} → ${mib(s.withStreams.heapUsedBytes)}: ${(s.rssPerStreamBytes / 1024).toFixed(1)} KiB RSS and ` +
    `${(s.heapPerStreamBytes / 1024).toFixed(1)} KiB heap per open stream. One worker then decided them all: ${count(s.finals)} final events ` +
    `(${s.unfinished} streams without one, ${s.missingCommit} without their batch's message), ${count(s.events)} events in all; ` +
    `commit → client p50 ${formatDuration(s.latencyMs.p50)}, p99 ${formatDuration(s.latencyMs.p99)}, max ${formatDuration(s.latencyMs.max)} ` +
    `(of which commit → the batch's message at a probe subscriber: p50 ${formatDuration(s.messageLagMs.p50)}, max ${formatDuration(s.messageLagMs.max)}, ${count(s.batches)} batches) ` +
    `(target p99 ≤ ${SSE_P99_TARGET_MS} ms: ${s.latencyMs.p99 <= SSE_P99_TARGET_MS ? 'met ✓' : 'NOT met ✗'}).`
  );
}

export function formatTarget(target: Target | null, style: FigureRow['ratioStyle']): string {
  if (!target) return '—';
  const op = { '>=': '≥', '<=': '≤', '=': '=' }[target.op];
  return `${op} ${target.of === 'value' ? count(target.value) : formatNumber(target.value, style)}`;
}

const VERDICT = { pass: '✓ pass', fail: '✗ FAIL' } as const;

function p99Cell(p99: FigureRow['p99']): string {
  if (!p99) return '—';
  return `${p99.ours === undefined ? '—' : formatDuration(p99.ours)} / ${p99.reference === undefined ? '—' : formatDuration(p99.reference)}`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escape).join(' | ')} |`).join('\n');
}

function figureTable(figures: FigureRow[]): string {
  return markdownTable(
    ['figure', 'what (this system / reference)', 'this system', 'reference', 'ratio', 'target', 'result', 'p99 this / ref'],
    figures.map((f) => [
      f.id,
      f.what,
      formatQuantity(f.ours),
      formatQuantity(f.reference),
      formatRatio(f.ratio, f.ratioStyle),
      formatTarget(f.target, f.ratioStyle),
      f.verdict ? VERDICT[f.verdict] : '',
      p99Cell(f.p99),
    ]),
  );
}

function statuses(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, n]) => `${key} ×${count(n)}`)
    .join(', ');
}

/** "best of 2: 2,101 · 2,290" when measured more than once. */
function runsCell(repeats: number[] | undefined, format: (value: number) => string): string {
  return repeats && repeats.length > 1 ? `best of ${repeats.length}: ${repeats.map(format).join(' · ')}` : '1 run';
}

function loadTable(loads: [string, LoadSummary][]): string {
  return markdownTable(
    ['HTTP load', 'requests', 'no answer', '5xx', 'time', 'answers/s', 'runs (answers/s)', 'p50', 'p99', 'max', 'answers'],
    loads.map(([name, l]) => [
      name,
      count(l.requests),
      count(l.unanswered),
      count(l.serverErrors),
      formatDuration(l.durationMs),
      count(l.rps),
      runsCell(l.repeats, count),
      formatDuration(l.latency.p50),
      formatDuration(l.latency.p99),
      formatDuration(l.latency.max),
      statuses(l.statusCounts),
    ]),
  );
}

function drainTable(drains: [string, DrainResult][]): string {
  return markdownTable(
    ['pre-filled queue', 'worker processes', 'tickets / jobs', 'time', 'per second', 'runs (per second)', 'wallets written', 'queue empty after'],
    drains.map(([name, d]) => [
      name,
      String(d.workers),
      count(d.items),
      formatDuration(d.durationMs),
      count(d.perSecond),
      runsCell(d.repeats, count),
      d.issued === undefined ? '—' : count(d.issued),
      d.jobsDrainedMs === undefined ? '—' : formatDuration(d.jobsDrainedMs),
    ]),
  );
}

/** "12 (417 admissions each)" for group commit, "10,000 (2 per admission)" for a WAIT per admission. */
export function waitCell(run: Pick<AdmissionRun, 'admissions' | 'waitRounds'>): string {
  const { admissions, waitRounds } = run;
  if (waitRounds === undefined) return '—';
  if (waitRounds === 0 || admissions === 0) return count(waitRounds);
  if (waitRounds >= admissions) return `${count(waitRounds)} (${Number((waitRounds / admissions).toFixed(1))} per admission)`;
  return `${count(waitRounds)} (${count(admissions / waitRounds)} admissions each)`;
}

const ROLES = ['api', 'worker', 'redis', 'postgres', 'load generator'] as const;

/** CPU per unit of work, process by process, and Redis's time by command family per admitted ticket. */
export function costTable(cost: CostMeasurements): string {
  const us = (value: number | undefined) => (value === undefined ? '—' : value.toFixed(1));
  const rows = (['admitted', 'soldOut', 'polls'] as const).map((name) => {
    const stage = cost[name];
    const label = { admitted: 'per admitted ticket (end to end)', soldOut: 'per SOLD_OUT answer', polls: 'per poll' }[name];
    return [label, count(stage.units), ...ROLES.map((role) => us(stage.perUnitUs[role]))];
  });
  const families = cost.admitted.cpu.redisUsecByFamily;
  const byFamily = Object.entries(families)
    .filter(([, usec]) => usec > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([family, usec]) => `${family} ${(usec / Math.max(1, cost.admitted.units)).toFixed(1)} µs (${count(cost.admitted.cpu.redisCallsByFamily[family] ?? 0)} calls)`);
  return [
    `CPU per unit of work, µs (user + system; private redis-server; 2 API + 2 worker processes; bare echo ${us(cost.echoPerRequestUs)} µs per request):`,
    '',
    markdownTable(['unit', 'count', ...ROLES], rows),
    '',
    `Redis per admitted ticket by command family (commandstats): ${byFamily.join(' · ')}; Redis memory ${Math.round(cost.redisBytesPerTicket)} B per admitted ticket once all were final.`,
  ].join('\n');
}

/** The linearity check's two runs side by side: CPU per admitted ticket by process, and Redis memory. */
export function linearityTable({ small, large }: LinearityMeasurements): string {
  const rows = [small, large].map((size) => [
    count(size.admitted.units),
    ...ROLES.map((role) => (size.admitted.perUnitUs[role] ?? 0).toFixed(1)),
    count(size.redisBytesPerTicket),
    formatDuration(size.admitted.cpu.wallSeconds * 1000),
  ]);
  return [
    'Cost linearity: µs of CPU per admitted ticket, end to end, each size on a fresh private Redis and 2 API + 2 worker processes:',
    '',
    markdownTable(['admitted tickets', ...ROLES, 'Redis bytes per ticket', 'until all final'], rows),
  ].join('\n');
}

export function durabilityTable({ runs }: DurabilityMeasurements): string {
  return markdownTable(
    ['admission in Redis (admit script + Queue.add), no HTTP', 'admissions', 'in flight', 'time', 'admissions/s', 'runs (admissions/s)', 'p50', 'p99', 'max', 'WAITs', 'refused (503)'],
    DURABILITY_SETUPS.map((setup) => {
      const run = runs[setup];
      return [
        DURABILITY_LABELS[setup],
        count(run.admissions),
        count(run.inFlight),
        formatDuration(run.durationMs),
        count(run.perSecond),
        runsCell(run.repeats, count),
        formatDuration(run.latency.p50),
        formatDuration(run.latency.p99),
        formatDuration(run.latency.max),
        waitCell(run),
        count(run.refused),
      ];
    }),
  );
}

function durabilityNote({ replicaTimeoutMs }: DurabilityMeasurements): string {
  return (
    'Durability: each setup on private redis-servers (AOF on, RDB off; the replica also appendfsync everysec), the API\'s own admission ' +
    '(couponScripts on the API\'s connection options, then Queue.add of issueJob; durable: ReplicaAck.confirmReplicated, ' +
    `WAIT timeout ${replicaTimeoutMs} ms), timed per admission from its start to its confirmation; every Redis emptied and its AOF rewritten between runs.`
  );
}

export function formatReport(report: BenchReport): string {
  const { machine: mc, options: o, measurements: m } = report;
  const failed = report.figures.filter((f) => f.verdict === 'fail').map((f) => f.id);
  const loads: [string, LoadSummary][] = [];
  const drains: [string, DrainResult][] = [];
  if (m.accept) loads.push(['P1 bare express 5 echo', m.accept.ceiling], ['P1 this API (1 process, no worker)', m.accept.api]);
  if (m.drain) drains.push(['P2 raw BullMQ, no-op processor', m.drain.raw], ['P2 this worker (wallet inserts)', m.drain.ours]);
  if (m.seed) {
    loads.push(
      ['P3 seed design, users = limit', m.seed.baselineDecisions],
      ['P3 seed design, seed scenario (A0001)', m.seed.baselineScenario],
      ['P4 bare express 5 echo', m.seed.echo],
    );
    drains.push(['P3 this worker, users = limit', m.seed.oursDecisions]);
  }
  for (const result of m.scaling ?? []) drains.push([`scaling: ${result.workers} worker${result.workers === 1 ? '' : 's'}`, result]);

  const lines = [
    '',
    `## pnpm bench${o.preset === 'quick' ? ' --quick' : ''}: ${report.startedAt}, ${formatDuration(report.durationMs)}`,
    '',
    `Machine: ${mc.cores} cores (${mc.cpuModel}), Node ${mc.node}, Redis ${mc.redis}, ${mc.postgres}; ` +
      'the load generator, every server, Redis and Postgres share these cores ' +
      `(1-minute load average ${report.loadAverage.start.toFixed(1)} at the start, ${report.loadAverage.end.toFixed(1)} at the end).`,
    `Settings: ${o.connections} connections for every HTTP load, ${count(o.warmupRequests)} unmeasured warm-up requests (or queued items) per server; ` +
      `each side measured ${o.repeat === 1 ? 'once' : `${o.repeat} times in turns with the other, the best run kept`} (the seed design once); ` +
      `WORKER_CONCURRENCY ${report.settings.workerConcurrency}, BATCH_SIZE ${report.settings.batchSize}; ` +
      `seed-scenario cluster ${o.apis} API + ${o.workers} worker process${o.workers === 1 ? '' : 'es'}.`,
    '',
    figureTable(report.figures),
    '',
  ];
  if (m.seed) {
    const s = m.seed.oursScenario;
    lines.push(
      `Seed scenario, this system: ${count(s.requests)} requests answered in ${formatDuration(s.burstMs)} (${statuses(s.statusCounts)}); ` +
        `sold out (last coupon issued) after ${s.soldOutAfterMs === null ? '—' : formatDuration(s.soldOutAfterMs)}; every request decided after ` +
        `${s.decidedMs === null ? '— (not all tickets became final)' : formatDuration(s.decidedMs)} (watched in Redis; seen final by polling clients after ` +
        `${s.seenFinalMs === null ? '—' : formatDuration(s.seenFinalMs)}); ${count(s.issued)} / ${count(s.limit)} issued; ` +
        `invariants: ${s.failures.length === 0 ? 'all hold' : s.failures.join('; ')}` +
        `${s.repeats && s.repeats.length > 1 ? ` (the best of ${s.repeats.length} runs: decided after ${s.repeats.map(formatDuration).join(' · ')})` : ''}.`,
      '',
    );
  }
  if (loads.length > 0) lines.push(loadTable(loads), '');
  if (drains.length > 0) lines.push(drainTable(drains), '');
  if (m.cost) lines.push(costTable(m.cost), '');
  if (m.linearity) lines.push(linearityTable(m.linearity), '');
  if (m.durability) lines.push(durabilityNote(m.durability), '', durabilityTable(m.durability), '');
  if (m.sse) lines.push(sseNote(m.sse), '');
  lines.push(failed.length === 0 ? 'Targets: all met ✓' : `Targets: missed by ${failed.join(', ')} ✗`);
  return `${lines.join('\n')}\n`;
}
