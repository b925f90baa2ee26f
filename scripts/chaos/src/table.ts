// The chaos table: one row per scenario (a Markdown table, so it pastes into notes as it is),
// then what each scenario found.
import type { ChaosReport, ScenarioResult } from './run-chaos.ts';

const HEADER = ['scenario', 'requests', 'accepted', 'issued / limit', 'dup', 'inv', 'lost', '5xx', '503 U/O', 'recover', 'drained', 'result'];

const secs = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

function row(r: ScenarioResult): string[] {
  const f = r.figures;
  const result = r.ok ? (r.inherent.length ? 'ok (inherent losses)' : 'ok') : `FAIL (${r.violations.length})`;
  if (!f) return [`${r.id} ${r.title}`, '—', '—', '—', '—', '—', '—', '—', '—', '—', '—', result];
  return [
    `${r.id} ${r.title}`,
    String(f.requests),
    String(f.accepted),
    f.coupons.map((c) => `${c.code} ${c.issued}/${c.limit}`).join(', '),
    String(f.duplicates),
    String(f.inversions),
    String(f.ticketsLost),
    String(f.serverErrors),
    `${f.unavailable}/${f.overloaded}`,
    secs(r.recover.ms),
    secs(r.drainedMs),
    result,
  ];
}

export function formatTable(results: readonly ScenarioResult[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...results.map((r) => line(row(r)))].join('\n');
}

export function formatReport(report: ChaosReport): string {
  const out = [
    `Chaos run, ${report.options.quick ? 'quick' : 'full'}, Redis AOF appendfsync ${report.options.appendfsync} — ${report.machine.cores} cores, Node ${report.machine.node}, ${(report.durationMs / 1000).toFixed(0)} s`,
    '',
    formatTable(report.results),
    '',
    'dup: duplicate wallets + users with two issued tickets; inv: first-come inversions; lost: tickets never final;',
    '5xx: server errors the contract forbids; 503 U/O: UNAVAILABLE / OVERLOADED answers (allowed with Retry-After);',
    'recover: see each scenario; drained: end of the fault → every pending ticket decided.',
    '',
  ];
  for (const r of report.results) {
    out.push(`${r.id} ${r.title}: ${r.ok ? 'ok' : 'VIOLATIONS'} (${(r.durationMs / 1000).toFixed(0)} s)`);
    if (r.recover.what) out.push(`  recover = ${r.recover.what}: ${secs(r.recover.ms)}`);
    for (const note of r.notes) out.push(`  - ${note}`);
    for (const line of r.inherent) out.push(`  inherent: ${line}`);
    for (const line of r.violations) out.push(`  VIOLATION: ${line}`);
  }
  out.push('', report.ok ? 'Invariants: all hold.' : `Invariants: ${report.results.filter((r) => !r.ok).length} scenario(s) violated them.`, '');
  return out.join('\n');
}
