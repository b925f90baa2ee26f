// The public listener's limits (http/server-limits.ts, http/body-limit.ts) and the operations port,
// attacked with real sockets against a listening API, as issue 11 demonstrated them. Small limits
// make each attack end in well under a second; every wait is on a condition with a deadline.
// The figures each attack leaves (probe success and latency) are printed: the README's "Limits".
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '@coupons/shared/testing';
import type { TestApi } from './api-harness.ts';
import { useTestApi } from './helpers.ts';

/** A raw client connection: what it received, and whether the server closed it. */
interface RawClient {
  socket: net.Socket;
  received(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

function connectRaw(url: string, localAddress = '127.0.0.1'): Promise<RawClient> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress });
    let data = '';
    let closed = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', () => {});
    const whenClosed = new Promise<void>((done) => socket.once('close', () => ((closed = true), done())));
    socket.once('connect', () => resolve({ socket, received: () => data, closed: whenClosed, isClosed: () => closed }));
    socket.once('error', reject);
  });
}

/** One probe: its status (0: no answer) and how long it took. */
interface Probe {
  status: number;
  ms: number;
}

async function probe(url: string, localAddress = '127.0.0.1', timeoutMs = 3_000): Promise<Probe> {
  const started = performance.now();
  const status = await new Promise<number>((resolve) => {
    const req = http.get(url, { agent: false, localAddress, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
  return { status, ms: performance.now() - started };
}

/** Probes `url` every 20 ms while `attack` runs, and once more after it. */
async function probeDuring<T>(url: string, attack: Promise<T>): Promise<{ result: T; probes: Probe[] }> {
  const probes: Probe[] = [];
  let done = false;
  const probing = (async () => {
    while (!done) {
      probes.push(await probe(url));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    const result = await attack;
    return { result, probes };
  } finally {
    done = true;
    await probing;
  }
}

const figures: string[] = [];
function record(attack: string, what: string, probes: Probe[]): void {
  const ok = probes.filter((p) => p.status === 200).length;
  const sorted = probes.map((p) => p.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]?.toFixed(1);
  figures.push(`${attack}: ${what} ${ok}/${probes.length} answered 200, p50 ${at(0.5)} ms, max ${at(1)} ms`);
}
afterAll(() => {
  if (figures.length) console.log(['limits under attack:', ...figures.map((line) => `  ${line}`)].join('\n'));
});

const request = (path: string, headers = 'Host: api\r\n') => `GET ${path} HTTP/1.1\r\n${headers}\r\n`;
const statusLine = (text: string) => /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];

describe('the operations port', () => {
  const t = useTestApi();

  it('serves /metrics, /healthz and /readyz; the public port does not serve /metrics', async () => {
    const metrics = await fetch(`${t.opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('http_requests_total');
    expect((await fetch(`${t.opsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.opsUrl}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ok', checks: { redis: 'ok', postgres: 'ok' } } });
    expect((await fetch(`${t.baseUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${t.opsUrl}/v1/coupons`)).status).toBe(404);
    // The probes stay on the public port too (DESIGN.md), for clients that ask there.
    expect((await fetch(`${t.baseUrl}/readyz`)).status).toBe(200);
  });
});

describe('connection limits: an idle flood', () => {
  // Four connections per address, ten in all; idle connections that never send a request close
  // at the headers timeout.
  const t = useTestApi({ HTTP_MAX_CONNECTIONS: '10', HTTP_MAX_CONNECTIONS_PER_CLIENT: '4', HTTP_HEADERS_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '3000' });

  it('refuses connections past the per-address and the total cap at once, serves others meanwhile, and closes idle ones at the headers timeout', async () => {
    const flood = async () => {
      // One address opens 8: four are kept, four closed at once.
      const first = await Promise.all(Array.from({ length: 8 }, () => connectRaw(t.baseUrl, '127.0.0.2')));
      await waitFor(() => first.filter((c) => c.isClosed()).length === 4, { timeoutMs: 500, message: 'the per-address excess closed' });
      const others = await probe(`${t.baseUrl}/v1/coupons`, '127.0.0.9');
      expect(others.status, 'another address is served').toBe(200);
      // Two more addresses take the rest of the ten: then everyone is refused, fast.
      const second = await Promise.all(Array.from({ length: 8 }, (_, i) => connectRaw(t.baseUrl, `127.0.0.${3 + (i % 2)}`)));
      const open = () => [...first, ...second].filter((c) => !c.isClosed()).length;
      await waitFor(() => open() === 10, { timeoutMs: 500, message: 'ten connections held' });
      const refused = await probe(`${t.baseUrl}/v1/coupons`, '127.0.0.9');
      expect(refused.status, 'past the total cap: refused').toBe(0);
      expect(refused.ms, 'refused at once').toBeLessThan(200);
      // Connections that never send a request end at the headers timeout; then all are served again.
      await waitFor(() => open() === 0, { timeoutMs: 3_000, message: 'idle connections closed by the headers timeout' });
      return { others, refused };
    };
    const { probes } = await probeDuring(`${t.opsUrl}/readyz`, flood());
    record('idle flood (10-connection cap, 4 per address)', 'ops /readyz', probes);
    expect(probes.every((p) => p.status === 200)).toBe(true);
    expect((await probe(`${t.baseUrl}/v1/coupons`, '127.0.0.9')).status).toBe(200);
    const metrics = await (await fetch(`${t.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/http_connections_refused_total\{reason="per_client"\} [1-9]/);
    expect(metrics).toMatch(/http_connections_refused_total\{reason="max_connections"\} [1-9]/);
  });
});

describe('time and size limits', () => {
  const t = useTestApi({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_MAX_PIPELINED_REQUESTS: '4' });
  const issuePath = '/v1/coupons/A0001/issue-requests';
  const postHead = (extra: string) => `POST ${issuePath} HTTP/1.1\r\nHost: api\r\nX-User-Id: ${randomUUID()}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  /** Sends `chunk` every 50 ms until the server closes the connection. */
  const trickle = (client: RawClient, chunk: () => string) => {
    const timer = setInterval(() => !client.isClosed() && client.socket.write(chunk()), 50);
    void client.closed.then(() => clearInterval(timer));
  };

  it('slowloris: headers trickled one line at a time end with 408 at the headers timeout, others served', async () => {
    const attack = async () => {
      const started = performance.now();
      const clients = await Promise.all(Array.from({ length: 20 }, () => connectRaw(t.baseUrl)));
      for (const client of clients) {
        client.socket.write('GET /v1/coupons HTTP/1.1\r\nHost: api\r\n');
        let n = 0;
        trickle(client, () => `X-Slow-${n++}: a\r\n`);
      }
      expect((await probe(`${t.baseUrl}/v1/coupons`)).status, 'others served').toBe(200);
      await Promise.all(clients.map((c) => c.closed));
      for (const client of clients) expect(statusLine(client.received())).toBe('408');
      return performance.now() - started;
    };
    const { result: heldMs, probes } = await probeDuring(`${t.opsUrl}/readyz`, attack());
    record(`slowloris (20 connections, headers timeout 500 ms, all closed after ${heldMs.toFixed(0)} ms)`, 'ops /readyz', probes);
    expect(heldMs).toBeLessThan(1_500);
    expect(probes.every((p) => p.status === 200)).toBe(true);
  });

  it('a trickled body ends with 408 at the request timeout, and the connection closes', async () => {
    const attack = async () => {
      const started = performance.now();
      const client = await connectRaw(t.baseUrl);
      client.socket.write(postHead('Content-Length: 1000\r\n'));
      trickle(client, () => ' ');
      expect((await probe(`${t.baseUrl}/v1/coupons`)).status, 'others served').toBe(200);
      await client.closed;
      expect(statusLine(client.received())).toBe('408');
      return performance.now() - started;
    };
    const { result: heldMs, probes } = await probeDuring(`${t.opsUrl}/readyz`, attack());
    record(`trickled body (request timeout 1000 ms, closed after ${heldMs.toFixed(0)} ms)`, 'ops /readyz', probes);
    expect(heldMs).toBeLessThan(2_500);
    expect(probes.every((p) => p.status === 200)).toBe(true);
  });

  it('an oversized declared body gets 413 before it is sent, and the connection ends: nothing more is read', async () => {
    const client = await connectRaw(t.baseUrl);
    const started = performance.now();
    client.socket.write(postHead('Content-Length: 5368709120\r\n') + 'x'.repeat(1024));
    await waitFor(() => client.isClosed() || statusLine(client.received()) !== undefined, { timeoutMs: 1_000, message: 'an answer' });
    const answeredMs = performance.now() - started;
    expect(statusLine(client.received())).toBe('413');
    expect(client.received()).toMatch(/\r\nconnection: close\r\n/i);
    expect(client.received()).toContain('"code":"PAYLOAD_TOO_LARGE"');
    await client.closed;
    // The server has closed its end: another 5 GB could not be sent.
    expect(client.socket.writable).toBe(false);
    figures.push(`oversized declared body (5 GB): 413 after ${answeredMs.toFixed(1)} ms, 1 KB of body sent, connection closed`);
  });

  it('a chunked body past the limit gets 413 as it crosses it, and the connection ends', async () => {
    const client = await connectRaw(t.baseUrl);
    client.socket.write(postHead('Transfer-Encoding: chunked\r\n'));
    const chunk = `400\r\n${'x'.repeat(0x400)}\r\n`;
    trickle(client, () => chunk);
    await client.closed;
    expect(statusLine(client.received())).toBe('413');
    expect(client.received()).toMatch(/\r\nconnection: close\r\n/i);
  });

  it('pipelining past the bound closes the connection; within it, each request is answered; others unaffected', async () => {
    const within = await connectRaw(t.baseUrl);
    within.socket.write(request('/healthz').repeat(3));
    await waitFor(() => within.received().match(/HTTP\/1\.1 200/g)?.length === 3, { timeoutMs: 1_000, message: 'three answers' });
    expect(within.isClosed()).toBe(false);
    within.socket.destroy();

    const attack = async () => {
      const clients = await Promise.all(Array.from({ length: 5 }, () => connectRaw(t.baseUrl)));
      for (const client of clients) client.socket.write(request('/openapi.json').repeat(1_000));
      expect((await probe(`${t.baseUrl}/v1/coupons`)).status, 'others served').toBe(200);
      await Promise.all(clients.map((c) => c.closed));
      return clients.map((c) => c.received().match(/HTTP\/1\.1 200/g)?.length ?? 0);
    };
    const { result: answered, probes } = await probeDuring(`${t.baseUrl}/healthz`, attack());
    record('pipelining (5 connections x 1,000 GET /openapi.json, bound 4)', 'public /healthz', probes);
    for (const count of answered) expect(count).toBeLessThanOrEqual(4);
    expect(probes.every((p) => p.status === 200)).toBe(true);
  });
});

describe('readiness under a read flood', () => {
  const t: TestApi = useTestApi();

  it('2,000 concurrent GET /v1/coupons leave /readyz on the operations port at 200', async () => {
    const flood = async () => {
      const started = performance.now();
      let flooding = true;
      // How long a query on the request pool waits meanwhile: what the old /readyz (sharing it, 1 s timeout) saw.
      const sharedPool = (async () => {
        let longest = 0;
        while (flooding) {
          const queued = performance.now();
          await sql`SELECT 1`.execute(t.db);
          longest = Math.max(longest, performance.now() - queued);
        }
        return longest;
      })();
      const statuses = await Promise.all(Array.from({ length: 2_000 }, () => probe(`${t.baseUrl}/v1/coupons`, '127.0.0.1', 20_000)));
      flooding = false;
      return { statuses, sharedPoolMs: await sharedPool, ms: performance.now() - started };
    };
    const { result, probes } = await probeDuring(`${t.opsUrl}/readyz`, flood());
    record(
      `read flood (2,000 concurrent GET /v1/coupons over ${result.ms.toFixed(0)} ms; a query on the request pool waited up to ${result.sharedPoolMs.toFixed(0)} ms)`,
      'ops /readyz',
      probes,
    );
    expect(result.statuses.filter((s) => s.status !== 200).map((s) => s.status)).toEqual([]);
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.every((p) => p.status === 200)).toBe(true);
  });
});
