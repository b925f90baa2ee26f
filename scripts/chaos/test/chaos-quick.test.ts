// CI's chaos pass: the real CLI end to end (private Redis and Postgres, 2 APIs, 3 workers, faults,
// Postgres truth) — the quick pass (`pnpm chaos --quick`: 2, 3-sigkill, 4-immediate, 6b, 7) less 6b,
// whose inherent losses (undecided tickets flushed with Redis) need their own assertions; the defect
// it found is fixed (see scripts/chaos/README.md). About a minute and a half here.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import type { ChaosReport } from '../src/run-chaos.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CI_SCENARIOS = ['2', '3-sigkill', '4-immediate', '7'];
const dir = await mkdtemp(join(tmpdir(), 'chaos-quick-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it(`pnpm chaos --quick --only ${CI_SCENARIOS.join(',')} holds every invariant`, { timeout: 300_000 }, async () => {
  const jsonFile = join(dir, 'report.json');
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/chaos/src/main.ts', '--quick', '--only', CI_SCENARIOS.join(','), '--json', jsonFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
    maxBuffer: 16 * 1024 * 1024,
  });
  const { stdout } = await run.catch((error: { stdout?: string; stderr?: string }) => {
    throw new Error(`pnpm chaos failed:\n${error.stdout ?? ''}\n${(error.stderr ?? '').slice(-4000)}`);
  });
  expect(stdout).toContain('Invariants: all hold.');
  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as ChaosReport;
  expect(report.results.map((r) => r.id)).toEqual(CI_SCENARIOS);
  for (const result of report.results) {
    expect(result.violations, result.id).toEqual([]);
    expect(result.figures, result.id).toMatchObject({ duplicates: 0, inversions: 0, ticketsLost: 0, serverErrors: 0, unanswered: 0 });
    // Exactly the limit, except where users answered 503 during the outage (who do not ask again
    // in the burst) may leave fewer than `limit` in line: the judge checks that case.
    for (const coupon of result.figures!.coupons) {
      if (result.id === '3-sigkill') expect(coupon.issued, `${result.id} ${coupon.code}`).toBeLessThanOrEqual(coupon.limit);
      else expect(coupon.issued, `${result.id} ${coupon.code}`).toBe(coupon.limit);
    }
  }
  const byId = Object.fromEntries(report.results.map((r) => [r.id, r]));
  expect(byId['3-sigkill']!.figures!.unavailable).toBeGreaterThan(0); // the API did answer 503 while Redis was down
  expect(byId['7']!.figures!.overloaded).toBeGreaterThan(0);
});
