import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@coupons/shared/testing';
import { startTcpBalancer, type TcpBalancer } from '../src/cluster/tcp-balancer.ts';

/** A backend that answers every connection with its name and closes it. */
async function namedServer(name: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end(name));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function ask(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (text += chunk));
  await once(socket, 'close');
  return text;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('startTcpBalancer', () => {
  it('hands connections to the backends in turn and skips one that refuses', async () => {
    const servers = await Promise.all(['a', 'b'].map(namedServer));
    cleanups.push(async () => servers.forEach((server) => server.close()));
    // A port nothing listens on: taken from the kernel, then released.
    const released = await namedServer('released');
    const dead = (released.address() as AddressInfo).port;
    await new Promise((resolve) => released.close(resolve));
    const backends = [...servers.map((server) => ({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })), { host: '127.0.0.1', port: dead }];
    const balancer: TcpBalancer = await startTcpBalancer(backends, 0, '127.0.0.1');
    cleanups.push(() => balancer.close());

    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(balancer.port));
    expect(answers.join('')).toMatch(/^(ab|ba|aa|bb)+$/);
    expect(answers.filter((answer) => answer === 'a').length).toBeGreaterThanOrEqual(2);
    expect(answers.filter((answer) => answer === 'b').length).toBeGreaterThanOrEqual(2);
    expect(balancer.handedOut[2]).toBe(0);
  });

  it('stops accepting but lets an open connection finish', async () => {
    const server = net.createServer((socket) => socket.on('data', (data) => socket.end(data)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => void server.close());
    const balancer = await startTcpBalancer([{ host: '127.0.0.1', port: (server.address() as AddressInfo).port }], 0, '127.0.0.1');
    cleanups.push(() => balancer.close());

    const open = net.connect(balancer.port, '127.0.0.1');
    await once(open, 'connect');
    await waitFor(() => balancer.handedOut[0] === 1, { message: 'the connection to reach the backend' });
    balancer.stopAccepting();
    let echoed = '';
    open.setEncoding('utf8');
    open.on('data', (chunk) => (echoed += chunk));
    open.write('still here');
    await once(open, 'close');
    expect(echoed).toBe('still here');

    const refused = net.connect(balancer.port, '127.0.0.1');
    const [error] = await once(refused, 'error');
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });
});
