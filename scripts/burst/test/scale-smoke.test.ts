// CI's small run of the million-user path: the run's own coupons, a rate cap, the --max-seconds
// cut-off, wallet ids read in pages, the real CLI end to end. Figures are printed, never asserted on.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import type { BurstReport } from '../src/report.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'burst-scale-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function burst(name: string, ...flags: string[]): Promise<{ stdout: string; report: BurstReport }> {
  const jsonFile = join(dir, `${name}.json`);
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/burst/src/main.ts', ...flags, '--api', '1', '--workers', '1', '--json', jsonFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
  });
  return { stdout, report: JSON.parse(await readFile(jsonFile, 'utf8')) as BurstReport };
}

it('20,000 users over 10 coupons of the run\'s own: exact per coupon, unique, 0 inversions, every ticket final, wallets counted', { timeout: 180_000 }, async () => {
  const { stdout, report } = await burst('scale', '--users', '20000', '--coupons', '10', '--stock', '2000', '--resubmit', '0', '--rate', '2000', '--private-redis');
  expect(stdout).toContain('Invariants: all hold');
  expect(stdout).toContain('Postgres wallets:');
  expect(report.verdict.ok).toBe(true);
  expect(report.verdict.coupons).toHaveLength(10);
  for (const coupon of report.verdict.coupons) {
    expect(coupon).toMatchObject({ demandUsers: 2000, issued: 200, limit: 200, inversions: 0, unfinishedTickets: 0, duplicateUsersApi: 0, duplicateWalletsPostgres: 0 });
  }
  expect(report.verdict.requests).toBe(20_000);
  expect(report.wallets?.wallets).toBe(2000);
  expect(report.memory?.figures.bytesPerUser).toBeGreaterThan(0);
  expect(report.sent).toEqual({ planned: 20_000, sent: 20_000, cutOff: false });
});

it('--max-seconds cuts the plan off: fewer sent than planned, every one answered and verified', { timeout: 180_000 }, async () => {
  const { stdout, report } = await burst('cut', '--users', '5000', '--coupons', '5', '--stock', '500', '--resubmit', '0', '--rate', '400', '--max-seconds', '2');
  expect(report.sent?.cutOff).toBe(true);
  expect(report.sent!.sent).toBeLessThan(5000);
  expect(report.verdict.requests).toBe(report.sent!.sent);
  expect(report.verdict.unanswered).toBe(0);
  expect(report.verdict.ok).toBe(true);
  expect(stdout).toContain('Cut off:');
});
