// --linearity: does the cost per ticket stay flat as the event grows? The same event at a tenth
// of its size (users, stock and requests ÷ 10, so the mix of admissions and SOLD_OUT answers is the
// same; every other flag — rate, connections, processes — the same), then the full one, and their
// CPU per admitted ticket and per request compared. A benchmark figure: printed, never a timed test.
import { formatCount, type CliContext } from '@coupons/harness/cli';
import { ownCoupons, type BurstOptions } from './cli-args.ts';
import type { BurstReport } from './report.ts';

/** How far the full run's CPU per ticket may be from the tenth's and still count as linear. */
export const LINEAR_WITHIN = 0.15;

/** The roles whose CPU is the system's (the load generator is the clients, not the system). */
const SYSTEM_ROLES = ['api', 'worker', 'redis', 'postgres'];

export interface LinearityRun {
  users: number;
  requests: number;
  admitted: number;
  /** µs of CPU per admitted ticket (a 202) and per request, the system's roles summed. */
  perAdmittedUs: number;
  perRequestUs: number;
  perAdmittedUsByRole: Record<string, number>;
  /** Whether every invariant held in that run. */
  ok: boolean;
  failures: string[];
}

export interface LinearityReport {
  small: LinearityRun;
  full: LinearityRun;
  /** full / small − 1, per admitted ticket and per request. */
  perAdmittedChange: number;
  perRequestChange: number;
  within: number;
  /** |perAdmittedChange| ≤ within. */
  linear: boolean;
}

/** The same event at a tenth of its size. Pure. */
export function tenthOf(options: BurstOptions): BurstOptions {
  if (!options.ownCoupons) throw new Error('--linearity scales the run\'s own coupons (--coupons)');
  const count = options.ownCoupons.length;
  const users = Math.round(options.demand.reduce((sum, d) => sum + d.users, 0) / 10);
  const stock = Math.max(count, Math.round(options.ownCoupons.reduce((sum, c) => sum + c.limit, 0) / 10));
  const { coupons, demand } = ownCoupons(count, Math.max(count, users), stock);
  return {
    ...options,
    ownCoupons: coupons,
    demand,
    requests: Math.max(Math.round(options.requests / 10), Math.max(count, users)),
    // A tenth of the event lasts a tenth as long: its state is kept a tenth as long (the wait after it too).
    retentionSeconds: options.retentionSeconds === null ? null : Math.max(1, Math.round(options.retentionSeconds / 10)),
    linearity: false,
    jsonFile: null,
  };
}

function summary(report: BurstReport): LinearityRun {
  const cpu = report.cpu;
  const sum = (perUnit: Record<string, number> | undefined) => SYSTEM_ROLES.reduce((total, role) => total + (perUnit?.[role] ?? 0), 0);
  return {
    users: report.verdict.coupons.reduce((total, c) => total + c.demandUsers, 0),
    requests: report.verdict.requests,
    admitted: report.verdict.coupons.reduce((total, c) => total + c.admitted, 0),
    perAdmittedUs: sum(cpu?.perAdmittedUs),
    perRequestUs: sum(cpu?.perRequestUs),
    perAdmittedUsByRole: Object.fromEntries(SYSTEM_ROLES.map((role) => [role, cpu?.perAdmittedUs[role] ?? 0])),
    ok: report.verdict.ok,
    failures: report.verdict.failures,
  };
}

/** The two runs compared. Pure. */
export function compareRuns(smallReport: BurstReport, fullReport: BurstReport, within = LINEAR_WITHIN): LinearityReport {
  const small = summary(smallReport);
  const full = summary(fullReport);
  const change = (a: number, b: number) => (a > 0 ? b / a - 1 : Infinity);
  const perAdmittedChange = change(small.perAdmittedUs, full.perAdmittedUs);
  return { small, full, perAdmittedChange, perRequestChange: change(small.perRequestUs, full.perRequestUs), within, linear: Math.abs(perAdmittedChange) <= within };
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
const roles = (run: LinearityRun) => Object.entries(run.perAdmittedUsByRole).map(([role, us]) => `${role} ${us.toFixed(0)}`).join(' · ');

export function formatLinearity(l: LinearityReport): string[] {
  const row = (name: string, run: LinearityRun) =>
    `  ${name}: ${formatCount(run.requests)} requests, ${formatCount(run.admitted)} admitted: ${run.perAdmittedUs.toFixed(0)} µs per admitted ticket (${roles(run)}), ` +
    `${run.perRequestUs.toFixed(0)} µs per request${run.ok ? '' : ` — invariants FAILED: ${run.failures.join('; ')}`}`;
  return [
    `Linearity (CPU of api + worker + redis + postgres, the same event at a tenth and at full size):`,
    row('tenth', l.small),
    row('full ', l.full),
    `  per admitted ticket ${pct(l.perAdmittedChange)}, per request ${pct(l.perRequestChange)}: ` +
      (l.linear ? `linear (within ${l.within * 100} %) ✓` : `NOT linear (more than ${l.within * 100} % apart) ✗`),
  ];
}

/** --linearity: the tenth, then the full run; the full run's report carries the comparison. */
export async function runWithLinearity(
  options: BurstOptions,
  hooks: CliContext,
  runBurst: (options: BurstOptions, hooks: CliContext) => Promise<BurstReport>,
): Promise<BurstReport> {
  const tenth = tenthOf(options);
  hooks.log(`--linearity: first the same event at a tenth of its size (${formatCount(tenth.requests)} requests)`);
  const small = await runBurst(tenth, hooks);
  hooks.log(`tenth done: invariants ${small.verdict.ok ? 'hold' : 'FAILED'}; now the full event (${formatCount(options.requests)} requests)`);
  const full = await runBurst(options, hooks);
  return { ...full, linearity: compareRuns(small, full) };
}
