// `pnpm cluster --api 2 --workers 2` as a person runs it: one port in front of two API processes,
// a ticket issued through it, then SIGTERM to its process group (a Ctrl-C) stops every process.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@coupons/shared/testing';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BANNER = /Cluster listening on http:\/\/localhost:(\d+)/;

/** One request on its own connection, so the balancer hands each to the next API process. */
function request(port: number, method: string, path: string, userId: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: { 'x-user-id': userId } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let environment: TestEnvironment;
let cluster: ChildProcess;
let output = '';
let replicaPids: number[] = [];

beforeAll(async () => {
  environment = await createTestEnvironment();
  // Its own process group, as a terminal's foreground job is: the group signal is a Ctrl-C.
  cluster = spawn('pnpm', ['cluster', '--api', '2', '--workers', '2'], {
    cwd: REPO_ROOT,
    // INFO: the replicas' and the cluster's own stop lines are what this test reads.
    env: { ...process.env, ...environment.env, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  cluster.stdout!.on('data', (chunk) => (output += chunk));
  cluster.stderr!.on('data', (chunk) => (output += chunk));
});

afterAll(async () => {
  if (cluster && cluster.exitCode === null && cluster.signalCode === null) {
    process.kill(-cluster.pid!, 'SIGKILL');
    await once(cluster, 'exit');
  }
  for (const pid of replicaPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await environment?.cleanup();
});

describe('pnpm cluster --api 2 --workers 2', () => {
  it('serves through one port, issues a ticket, and stops every process on SIGTERM', async () => {
    await waitFor(() => BANNER.test(output) || cluster.exitCode !== null, { timeoutMs: 90_000, message: `the cluster to start (output: ${output.slice(-500)})` });
    expect(output).toMatch(BANNER);
    const port = Number(BANNER.exec(output)![1]);
    replicaPids = [...output.matchAll(/pid (\d+)/g)].map((match) => Number(match[1]));
    const apiPorts = [...output.matchAll(/pid \d+, port (\d+)/g)].map((match) => Number(match[1]));
    const opsPorts = [...output.matchAll(/pid \d+, port \d+, ops port (\d+)/g)].map((match) => Number(match[1]));
    expect(replicaPids).toHaveLength(4);
    expect(apiPorts).toHaveLength(2);
    expect(opsPorts).toHaveLength(2);

    const users = Array.from({ length: 6 }, () => randomUUID());
    const answers = await Promise.all(users.map((user) => request(port, 'POST', '/v1/coupons/A0001/issue-requests', user)));
    expect(answers.map((answer) => answer.status)).toEqual(users.map(() => 202));

    // Both API processes answered some of them (each reports its own request counter, on its operations port).
    for (const opsPort of opsPorts) {
      const metrics = (await request(opsPort, 'GET', '/metrics', users[0]!)).body as string;
      const accepted = /http_requests_total\{[^}]*route="\/v1\/coupons\/:code\/issue-requests"[^}]*status="202"[^}]*\} (\d+)/.exec(metrics);
      expect(Number(accepted?.[1] ?? 0), `API with ops port ${opsPort}`).toBeGreaterThan(0);
    }

    const { ticketId } = answers[0]!.body;
    const ticket = await waitFor(
      async () => {
        const { body } = await request(port, 'GET', `/v1/tickets/${ticketId}`, users[0]!);
        return body.status === 'issued' ? body : null;
      },
      { timeoutMs: 30_000, message: 'the ticket to be issued' },
    );
    expect(ticket.walletId).toBeDefined();

    // pnpm itself exits on the signal at once; the cluster process goes on stopping its replicas.
    // The output pipes close when the last process holding them (the cluster) has exited.
    const closed = Promise.all([once(cluster.stdout!, 'close'), once(cluster.stderr!, 'close')]);
    process.kill(-cluster.pid!, 'SIGTERM');
    await closed;
    expect(output.match(/"msg":"API stopped"/g), output.slice(-2000)).toHaveLength(2);
    expect(output.match(/"msg":"worker stopped"/g)).toHaveLength(2);
    expect(output).toMatch(/"msg":"stopped 4 processes"/);
    expect(output).not.toMatch(/did not stop cleanly/);
    expect(replicaPids.filter(isAlive)).toEqual([]);
  });
});
