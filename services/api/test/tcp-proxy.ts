import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy to a local service, for outage tests: the API connects through it, and the test
 * cuts it (connections reset, new ones refused, as when the service goes down) or freezes it
 * (connections stay open but nothing gets through, as in a network partition; what was sent
 * waits and arrives in order on restore).
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  freeze(): void;
  /** Listens again on the same port and lets traffic through. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
    if (frozen) for (const socket of pair) socket.pause();
    for (const socket of pair) {
      socket.on('error', () => {});
      socket.on('close', () => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      });
    }
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const dropAll = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const [client, upstream] of pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
    await closed;
  };

  return {
    port,
    cut: dropAll,
    freeze() {
      frozen = true;
      for (const pair of pairs) for (const socket of pair) socket.pause();
    },
    async restore() {
      frozen = false;
      for (const pair of pairs) for (const socket of pair) socket.resume();
      if (!server.listening) {
        server.listen(port, '127.0.0.1');
        await once(server, 'listening');
      }
    },
    async close() {
      if (server.listening) await dropAll();
    },
  };
}
