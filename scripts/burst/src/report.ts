// The readable report (a table per coupon, throughput, latency, the invariants) and its JSON twin.
import type { AuthMode } from '@coupons/shared/config';
import { cpus } from 'node:os';
import type { BurstOptions } from './cli-args.ts';
import { formatCount } from '@coupons/harness/cli';
import type { CouponVerdict, RunVerdict } from '@coupons/harness/verify';
import type { FollowFigures } from '@coupons/harness/sse';
import { formatBytes, formatCensus, lifetimeWarnings, type MemoryReport } from './memory.ts';
import type { WalletRate } from '@coupons/harness/verify';
import type { GeneratorMemory } from './generator-memory.ts';
import { formatLinearity, type LinearityReport } from './linearity.ts';

export interface BurstReport {
  scenario: Pick<BurstOptions, 'preset' | 'demand' | 'resubmitRate' | 'requests' | 'connections'> & {
    rate?: number | null;
    maxSeconds?: number | null;
    /** Coupons of the run's own (--coupons), 0 for existing ones. */
    ownCoupons?: number;
  };
  /** Requests planned and sent: fewer when --max-seconds cut the plan off. */
  sent?: { planned: number; sent: number; cutOff: boolean };
  /** A local cluster's wallet rows: how many, how fast the workers wrote them, how long reading their ids took. */
  wallets?: (WalletRate & { idsReadMs: number }) | null;
  /** The load generator's own memory and how long the verification took. */
  generator?: GeneratorMemory & { verifyMs: number };
  /** --linearity: the tenth-size run's figures against this one's. */
  linearity?: LinearityReport;
  target: { kind: 'local'; apis: number; workers: number; auth: AuthMode; redisCluster?: boolean } | { kind: 'url'; urls: string[] };
  machine: { cores: number; node: string };
  verdict: RunVerdict;
  /** WARN-or-worse log lines of the local services, grouped by message. */
  serviceWarnings: { message: string; count: number; services: string[] }[];
  /** Redis memory of a local cluster's event (null with --url: the burst does not know that Redis). */
  memory?: MemoryReport | null;
  /** CPU of a local cluster's processes over the whole run (load, drain, polls); null with --url. */
  cpu?: BurstCpu | null;
  /** --sse: how the tickets were followed over their event streams, and the requests that saved (null: polled). */
  sse?: FollowFigures | null;
}

export interface BurstCpu {
  /** µs of CPU per admitted ticket (a 202) and per request, by role (api, worker, redis, postgres, load generator). */
  perAdmittedUs: Record<string, number>;
  perRequestUs: Record<string, number>;
  /** Redis µs per admitted ticket by command family (commandstats). */
  redisPerAdmittedUsByFamily: Record<string, number>;
  /** Whether Redis was the run's own (--private-redis): otherwise its figures include everyone's. */
  privateRedis: boolean;
}

const cpuLine = (perUnit: Record<string, number>) =>
  Object.entries(perUnit)
    .map(([role, us]) => `${role} ${us.toFixed(0)}`)
    .join(' · ');

/** The memory lines of the text report. */
export function formatMemory(m: MemoryReport): string[] {
  const f = m.figures;
  const verdict = f.targetMet === null ? 'no ticket admitted' : f.targetMet ? 'met' : 'NOT met';
  const lines = [
    `Redis memory:      ${m.redis === 'cluster' ? 'local Redis Cluster, summed over its 3 primaries' : m.redis === 'private' ? 'private redis-server' : 'shared Redis (other keys move these figures; --private-redis for exact ones)'}: ` +
      `${formatBytes(m.baselineBytes)} before the event, ${formatBytes(m.peakBytes)} at the peak (+${formatBytes(f.liveBytes)}), ${formatBytes(m.atLastAdmissionBytes)} right after the last admission`,
    `                   ${f.bytesPerAdmittedTicket ?? '—'} B per admitted ticket (${formatCount(m.admitted)} × 202; target ≤ ${m.targetBytesPerTicket} B: ${verdict}), ` +
      `${f.bytesPerUser ?? '—'} B per user asking (${formatCount(m.users)})`,
    `  at the last admission: ${formatCensus(m.censusAtLastAdmission) || 'no keys'}`,
  ];
  for (const warning of lifetimeWarnings(m)) lines.push(`  ! ${warning}`);
  for (const after of [m.afterRetention, m.afterTicketTtl]) {
    if (!after) continue;
    lines.push(
      `  after ${after.what}${after.reached ? '' : ' — NOT reached'}, ${seconds(after.waitedMs)} later: ${formatBytes(after.usedBytes)} ` +
        `(${after.aboveBaselineBytes >= 0 ? '+' : ''}${formatBytes(after.aboveBaselineBytes)} over the baseline); left: ${formatCensus(after.census) || 'no keys'}`,
    );
  }
  return lines;
}

/** The --sse lines: streams against the GETs a client polling every interval would have sent. */
export function formatSse(f: FollowFigures): string[] {
  const saved = f.pollsAvoided - f.streamRequests;
  const share = f.pollsAvoided > 0 ? ` (${Math.round((saved / f.pollsAvoided) * 100)} %)` : '';
  return [
    `Tickets over SSE:  ${formatCount(f.streamRequests)} stream requests (${formatCount(f.reconnects)} reconnects, ${formatCount(f.refused)} refused, at most ${formatCount(f.peakOpen)} open at once), ${formatCount(f.events)} events`,
    ...(Object.keys(f.interruptions).length > 0
      ? [`                   interrupted: ${Object.entries(f.interruptions).map(([why, n]) => `${why} ×${formatCount(n)}`).join(' · ')}`]
      : []),
    `                   a client polling every ${f.pollIntervalMs / 1000} s from its 202 until final would have sent ${formatCount(f.pollsAvoided)} GETs: ${formatCount(saved)} requests saved${share}`,
  ];
}

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(2)} s`);
const millis = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function couponRow(c: CouponVerdict): string[] {
  return [
    c.code,
    formatCount(c.demandUsers),
    formatCount(c.requests),
    formatCount(c.admitted),
    formatCount(c.repeated),
    formatCount(c.soldOutAnswers),
    `${formatCount(c.issued)} / ${formatCount(c.limit)}`,
    formatCount(c.unfinishedTickets),
    `${c.duplicateUsersApi} / ${c.duplicateWalletsPostgres ?? '—'}`,
    formatCount(c.inversions),
    seconds(c.soldOutAfterMs),
    seconds(c.firstSoldOutAnswerMs),
  ];
}

export function formatReport(report: BurstReport): string {
  const { scenario, target, verdict: v } = report;
  const demand = scenario.demand.map((d) => `${d.code} ${formatCount(d.users)}`).join(', ');
  const where =
    target.kind === 'local'
      ? `local cluster: ${target.apis} API + ${target.workers} worker processes on a fresh database${target.redisCluster ? ' and a local Redis Cluster (3 primaries + 3 replicas)' : ''}, AUTH_MODE=${target.auth}`
      : `running system at ${target.urls.join(', ')}`;
  const codes = Object.entries(v.statusCounts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, n]) => `${key} ×${formatCount(n)}`)
    .join(' · ');
  const lines = [
    '',
    `Burst (${scenario.preset}): ${scenario.ownCoupons ? `${formatCount(scenario.demand.reduce((sum, d) => sum + d.users, 0))} users over ${scenario.ownCoupons} coupons of the run's own` : demand} distinct users; ${formatCount(scenario.requests)} requests ` +
      `(${Math.round(scenario.resubmitRate * 100)} % resubmissions) over ${scenario.connections} connections` +
      `${scenario.rate ? `, at most ${formatCount(scenario.rate)}/s` : ''}${scenario.maxSeconds ? `, for at most ${scenario.maxSeconds} s` : ''}`,
    `Target: ${where}; machine: ${report.machine.cores} cores, Node ${report.machine.node}`,
    '',
    table(
      ['coupon', 'users', 'requests', '202', '200', '409 sold out', 'issued / limit', 'unfinished', 'dup api/pg', 'inversions', 'sold out at', 'first 409 at'],
      v.coupons.map(couponRow),
    ),
    `(issued from ${v.coupons[0]?.issuedSource ?? '—'}; times from the first request sent)`,
    '',
    `Status codes:      ${codes}`,
    `Accept throughput: ${formatCount(v.acceptRps)} requests/s (${formatCount(v.answered)} answers in ${seconds(v.burstMs)})`,
    `POST latency:      p50 ${millis(v.latency.p50)} · p90 ${millis(v.latency.p90)} · p99 ${millis(v.latency.p99)} · max ${millis(v.latency.max)}`,
    `All tickets final: ${
      v.allFinalAfterMs === null
        ? `no — ${formatCount(v.unfinishedTickets)} of ${formatCount(v.tickets)} never were`
        : `${v.decidedAfterMs === null ? '' : `decided after ${seconds(v.decidedAfterMs)} (the end of every line seen final); `}` +
          `each of the ${formatCount(v.tickets)} tickets seen final by ${seconds(v.allFinalAfterMs)}`
    }`,
    `Errors:            ${v.serverErrors} server errors (5xx), ${v.unavailable} × 503 UNAVAILABLE, ${v.unanswered} unanswered, ${v.unexpectedAnswers} unexpected; ${formatCount(v.overloaded)} × 503 OVERLOADED (backpressure, not an error)`,
  ];
  if (report.sent?.cutOff) {
    lines.push(`Cut off:           --max-seconds ${scenario.maxSeconds}: ${formatCount(report.sent.sent)} of ${formatCount(report.sent.planned)} planned requests sent, the rest dropped (everything sent is verified)`);
  }
  if (report.wallets) {
    const w = report.wallets;
    lines.push(
      `Postgres wallets:  ${formatCount(w.wallets)} rows, ${w.perSecond === null ? '—' : formatCount(w.perSecond)} rows/s from the first to the last issued_at ` +
        `(${w.firstAt !== null && w.lastAt !== null ? seconds(w.lastAt - w.firstAt) : '—'}); their ids read in pages of 10,000 in ${seconds(w.idsReadMs)}`,
    );
  }
  if (report.generator) {
    const g = report.generator;
    lines.push(`Load generator:    peak heap ${formatBytes(g.peakHeapBytes)}, peak RSS ${formatBytes(g.peakRssBytes)} (heap limit ${formatBytes(g.heapLimitBytes)}); verifyRun took ${seconds(g.verifyMs)}`);
  }
  if (report.sse) lines.push(...formatSse(report.sse));
  if (report.memory) lines.push(...formatMemory(report.memory));
  if (report.cpu) {
    lines.push(
      `CPU, µs:           per admitted ticket: ${cpuLine(report.cpu.perAdmittedUs)}; per request: ${cpuLine(report.cpu.perRequestUs)}` +
        (report.cpu.privateRedis ? '' : ' (shared Redis: --private-redis for exact Redis figures)'),
    );
  }
  if (report.serviceWarnings.length > 0) {
    lines.push('', 'Service warnings:');
    for (const w of report.serviceWarnings.slice(0, 10)) lines.push(`  ${formatCount(w.count)} × ${w.message} (${w.services.join(', ')})`);
  }
  if (report.linearity) lines.push('', ...formatLinearity(report.linearity));
  lines.push('', v.ok ? 'Invariants: all hold ✓' : `Invariants: ${v.failures.length} FAILED ✗`);
  for (const failure of v.failures) lines.push(`  ✗ ${failure}`);
  return lines.join('\n') + '\n';
}

export function machineInfo(): BurstReport['machine'] {
  return { cores: cpus().length, node: process.versions.node };
}

/** Groups pino WARN/ERROR lines by their `msg`, keeping which services printed them. */
export function groupWarnings(lines: readonly { service: string; line: string }[]): BurstReport['serviceWarnings'] {
  const groups = new Map<string, { count: number; services: Set<string> }>();
  for (const { service, line } of lines) {
    let message = line;
    try {
      message = String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
    } catch {
      // not JSON: keep the raw line
    }
    const group = groups.get(message) ?? { count: 0, services: new Set<string>() };
    group.count++;
    group.services.add(service);
    groups.set(message, group);
  }
  return [...groups]
    .map(([message, { count, services }]) => ({ message, count, services: [...services] }))
    .sort((a, b) => b.count - a.count);
}
