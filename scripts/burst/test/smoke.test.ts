// CI's small burst: the real CLI end to end (own cluster, autocannon, polling, Postgres truth).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import type { BurstReport } from '../src/report.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'burst-smoke-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

it('pnpm burst --smoke holds every invariant and says so', { timeout: 180_000 }, async () => {
  const jsonFile = join(dir, 'report.json');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/burst/src/main.ts', '--smoke', '--json', jsonFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
  });
  expect(stdout).toContain('Invariants: all hold');
  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as BurstReport;
  expect(report.verdict.ok).toBe(true);
  const [coupon] = report.verdict.coupons;
  expect(coupon).toMatchObject({ code: 'A0001', demandUsers: 600, issued: 300, limit: 300, inversions: 0, unfinishedTickets: 0 });
  expect(report.verdict.requests).toBe(750);
});

it('pnpm burst --auth jwt --smoke: every request carries a bearer token minted for its user, and every invariant holds', { timeout: 180_000 }, async () => {
  const jsonFile = join(dir, 'report-jwt.json');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/burst/src/main.ts', '--smoke', '--auth', 'jwt', '--json', jsonFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
  });
  expect(stdout).toContain('AUTH_MODE=jwt');
  expect(stdout).toContain('Invariants: all hold');
  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as BurstReport;
  expect(report.target).toMatchObject({ kind: 'local', auth: 'jwt' });
  expect(report.verdict.ok).toBe(true);
  expect(report.verdict.coupons[0]).toMatchObject({ code: 'A0001', demandUsers: 600, issued: 300, limit: 300, inversions: 0, unfinishedTickets: 0 });
  // No request was refused for its identity: every answer is an admission, a resubmission or SOLD_OUT.
  expect(Object.keys(report.verdict.statusCounts).filter((status) => status.startsWith('401'))).toEqual([]);
});

it('pnpm burst --sse --smoke: every ticket followed over its event stream (real API and worker processes) to its final event, every invariant holds', { timeout: 180_000 }, async () => {
  const jsonFile = join(dir, 'report-sse.json');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/burst/src/main.ts', '--smoke', '--sse', '--json', jsonFile], {
    cwd: REPO_ROOT,
    env: { ...process.env, INIT_CWD: REPO_ROOT },
  });
  expect(stdout).toContain('Tickets over SSE:');
  expect(stdout).toContain('Invariants: all hold');
  const report = JSON.parse(await readFile(jsonFile, 'utf8')) as BurstReport;
  expect(report.verdict.ok).toBe(true);
  expect(report.verdict.coupons[0]).toMatchObject({ code: 'A0001', issued: 300, limit: 300, inversions: 0, unfinishedTickets: 0 });
  const tickets = report.verdict.tickets;
  // One stream per ticket at least, and at least its final event on each (nothing polled).
  expect(report.sse!.streamRequests).toBeGreaterThanOrEqual(tickets);
  expect(report.sse!.events).toBeGreaterThanOrEqual(tickets);
  expect(report.sse!.pollsAvoided).toBeGreaterThanOrEqual(tickets);
});
