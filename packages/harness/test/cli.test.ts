import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commaList, readFlags, Teardown, UsageError, wholeNumber } from '../src/cli/index.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/tiny-cli.ts', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the fixture tool; `whenOutput` sees its stderr as it comes (and may signal it). */
function tiny(args: string[], options: { env?: Record<string, string>; whenOutput?: (stderr: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
    options.whenOutput?.(stderr, child);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('runCli', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('answers a bad flag with one line naming the tool, and exit code 2', async () => {
    const unknown = await tiny(['--bogus']);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: "tiny: Unknown option '--bogus' (see --help)\n" });
    const bad = await tiny(['--count', '9']);
    expect(bad).toEqual({ code: 2, stdout: '', stderr: 'tiny: --count must be a whole number from 1 to 5, got "9"\n' });
  });

  it('prints the usage on --help, and exits 0', async () => {
    expect(await tiny(['--help'])).toEqual({ code: 0, stdout: 'Usage: tiny [--count N] [--wait] [--fail] [--violate] [--json FILE]\n', stderr: '' });
    expect(await tiny(['--', '-h'])).toMatchObject({ code: 0 });
  });

  it('prints the report, and exits with the code the report says', async () => {
    expect(await tiny(['--count', '3'])).toMatchObject({ code: 0, stdout: 'tiny report: 3\n' });
    expect(await tiny(['--violate'])).toMatchObject({ code: 1, stdout: 'tiny report: 1\n' });
  });

  it('writes --json FILE relative to where the user typed the command (INIT_CWD)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'harness-cli-'));
    dirs.push(dir);
    const run = await tiny(['--count', '2', '--json', 'out.json'], { env: { INIT_CWD: dir } });
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'out.json'), 'utf8'))).toEqual({ count: 2, ok: true });
    expect(run.stderr).toContain(`tiny: report written to ${join(dir, 'out.json')}\n`);
  });

  it('logs a failed run in one line, undoes what it registered, and exits with the failure code', async () => {
    const run = await tiny(['--fail']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual(['tiny: failed: boom', 'undone']);
  });

  it('tears down once on SIGINT, however many signals follow, and exits 130', async () => {
    let signalled = false;
    const run = await tiny(['--wait'], {
      whenOutput(stderr, child) {
        if (signalled || !stderr.includes('tiny: waiting')) return;
        signalled = true;
        // As a Ctrl-C arrives: from the terminal, then relayed; and a SIGTERM during the teardown.
        child.kill('SIGINT');
        child.kill('SIGINT');
        setTimeout(() => child.kill('SIGTERM'), 100);
      },
    });
    expect(run.code).toBe(130);
    expect(lines(run.stderr)).toEqual(['tiny: waiting', 'tiny: SIGINT: tearing down', 'undone']);
  });
});

describe('Teardown', () => {
  it('undoes latest first, each once, and at once what is registered after runAll', async () => {
    const teardown = new Teardown();
    const undone: string[] = [];
    teardown.add(() => undone.push('cluster'));
    const release = teardown.add(() => undone.push('redis'));
    teardown.add(() => {
      undone.push('load');
      throw new Error('already stopped');
    });
    await release();
    await release();
    await teardown.runAll();
    expect(undone).toEqual(['redis', 'load', 'cluster']);
    await teardown.runAll();
    teardown.add(() => undone.push('late'));
    await Promise.resolve();
    expect(undone).toEqual(['redis', 'load', 'cluster', 'late']);
  });
});

describe('flag helpers', () => {
  it('reads strict flags, skipping the -- pnpm passes, in one line when wrong', () => {
    expect(readFlags(['--', '--n', '3'], { n: { type: 'string' } })).toEqual({ n: '3' });
    expect(() => readFlags(['--n'], { n: { type: 'string' } })).toThrow(new UsageError("Option '--n <value>' argument missing (see --help)"));
    expect(() => readFlags(['extra'], {})).toThrow(UsageError);
  });

  it('takes whole numbers in a range, and comma lists', () => {
    expect(wholeNumber('n', undefined, 1)).toBeUndefined();
    expect(wholeNumber('n', ' 7 ', 0, 10)).toBe(7);
    expect(() => wholeNumber('n', '1.5', 1)).toThrow('--n must be a whole number from 1, got "1.5"');
    expect(() => wholeNumber('n', '11', 0, 10)).toThrow('--n must be a whole number from 0 to 10, got "11"');
    expect(commaList(' a, b ,c', (part) => part.toUpperCase())).toEqual(['A', 'B', 'C']);
  });
});
