// A chaos run: the chosen scenarios one after another, each with its own private Redis, fresh
// database and cluster, all of it undone when the scenario ends (or on Ctrl-C); each judged.
import { cpus } from 'node:os';
import type { CliContext } from '@coupons/harness/cli';
import { startRedisServer } from '@coupons/shared/testing';
import type { ChaosOptions } from './cli-args.ts';
import { startChaosCluster, type ChaosCluster } from './cluster.ts';
import { judge, type RowFigures } from './judge.ts';
import { FULL, QUICK, SERVICE_ENV, type Scenario, type ScenarioContext } from './scenario.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { lastLines, warningsByMessage } from './service-log.ts';
import { ensureLocalServers } from '@coupons/local-servers';

export interface ScenarioResult {
  id: string;
  title: string;
  ok: boolean;
  /** null when the scenario could not run to the end. */
  figures: RowFigures | null;
  recover: { ms: number | null; what: string };
  /** From the end of the fault until every pending ticket was decided. */
  drainedMs: number | null;
  violations: string[];
  inherent: string[];
  notes: string[];
  details: Record<string, unknown>;
  /** WARN-or-worse lines of the services, grouped by message. */
  serviceWarnings: { message: string; count: number; services: string[] }[];
  durationMs: number;
}

export interface ChaosReport {
  startedAt: string;
  options: ChaosOptions;
  machine: { cores: number; node: string };
  results: ScenarioResult[];
  ok: boolean;
  durationMs: number;
}

/** The teardown: what Ctrl-C must undo right now (the running scenario's processes and servers). */
export type ChaosHooks = Pick<CliContext, 'log' | 'teardown'>;

/**
 * --only names scenarios by id, or by number (all its variants). With --quick, a number stands for
 * its quick variants when it has some (3 → 3-sigkill), for all of them when it has none (1 → 1).
 */
export function selectScenarios(options: Pick<ChaosOptions, 'only' | 'quick'>): Scenario[] {
  if (options.only.length === 0) return SCENARIOS.filter((s) => !options.quick || s.inQuick);
  const hasQuickVariant = (n: number) => SCENARIOS.some((s) => s.number === n && s.inQuick);
  return SCENARIOS.filter(
    (s) => options.only.includes(s.id) || (options.only.includes(String(s.number)) && (!options.quick || s.inQuick || !hasQuickVariant(s.number))),
  );
}

async function runScenario(scenario: Scenario, options: ChaosOptions, hooks: ChaosHooks): Promise<ScenarioResult> {
  const started = Date.now();
  const log = (line: string) => hooks.log(`[${scenario.id} +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const cleanups: (() => Promise<unknown>)[] = [];
  // One teardown, whoever asks first (the scenario's end or Ctrl-C); the other waits for it.
  const undo = hooks.teardown.add(async () => {
    while (cleanups.length > 0) await cleanups.pop()!().catch((error: Error) => log(`cleanup: ${error.message}`));
  });
  let cluster: ChaosCluster | undefined;
  const ctx: ScenarioContext = {
    quick: options.quick,
    appendfsync: options.appendfsync,
    sizes: options.quick ? QUICK : FULL,
    log,
    defer: (cleanup) => cleanups.push(cleanup),
    async startRedis(extra = {}) {
      const server = await startRedisServer({ appendfsync: options.appendfsync, ...extra });
      cleanups.push(() => server.close());
      return server;
    },
    async startCluster(redis, spec) {
      cluster = await startChaosCluster(
        { apis: 2, ...spec, redisUrl: redis.url, env: { ...SERVICE_ENV, ...spec.env } },
        log,
        (teardown) => cleanups.push(teardown),
      );
      return cluster;
    },
  };
  log(`${scenario.title}`);
  try {
    const outcome = await scenario.run(ctx);
    const judged = judge({ ...outcome.observation, ...(outcome.silentWinners && { silentWinners: outcome.silentWinners }) }, outcome.rules);
    const violations = [...judged.violations, ...outcome.violations];
    const { drainedAt } = outcome.observation;
    return {
      id: scenario.id,
      title: scenario.title,
      ok: violations.length === 0,
      figures: judged.figures,
      recover: outcome.recover,
      drainedMs: drainedAt === null ? null : Math.max(0, drainedAt - outcome.faultEndedAt),
      violations,
      inherent: [...judged.inherent, ...(outcome.inherent ?? [])],
      notes: [...outcome.notes, ...judged.notes],
      details: outcome.details ?? {},
      serviceWarnings: cluster ? warningsByMessage(cluster.services) : [],
      durationMs: Date.now() - started,
    };
  } catch (error) {
    log(`could not complete: ${(error as Error).stack ?? error}`);
    for (const service of cluster?.services ?? []) log(`  ${service.name} last lines: ${lastLines(service, 3).join(' | ')}`);
    return {
      id: scenario.id,
      title: scenario.title,
      ok: false,
      figures: null,
      recover: { ms: null, what: '' },
      drainedMs: null,
      violations: [`the scenario could not complete: ${(error as Error).message}`],
      inherent: [],
      notes: [],
      details: {},
      serviceWarnings: cluster ? warningsByMessage(cluster.services) : [],
      durationMs: Date.now() - started,
    };
  } finally {
    await undo();
  }
}

export async function runChaos(options: ChaosOptions, hooks: ChaosHooks): Promise<ChaosReport> {
  const started = Date.now();
  // No Redis or Postgres running and none configured: embedded ones, stopped at the end.
  const servers = await ensureLocalServers({ purpose: 'test', log: hooks.log });
  hooks.teardown.add(() => servers.stop());
  const scenarios = selectScenarios(options);
  hooks.log(`${scenarios.length} scenarios (${scenarios.map((s) => s.id).join(', ')}), ${options.quick ? 'quick' : 'full'} sizes, Redis appendfsync ${options.appendfsync}`);
  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    const result = await runScenario(scenario, options, hooks);
    results.push(result);
    hooks.log(`[${scenario.id}] ${result.ok ? 'ok' : `${result.violations.length} violation(s)`} in ${(result.durationMs / 1000).toFixed(1)} s`);
  }
  return {
    startedAt: new Date(started).toISOString(),
    options,
    machine: { cores: cpus().length, node: process.versions.node },
    results,
    ok: results.every((r) => r.ok),
    durationMs: Date.now() - started,
  };
}
