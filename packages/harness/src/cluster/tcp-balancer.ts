// One port in front of several API processes: each new TCP connection goes to the next backend
// in turn, and its bytes are piped both ways. Per connection, like a Kubernetes Service
// (kube-proxy balances connections, not requests): a keep-alive client stays on one API process.
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

export interface TcpBalancer {
  port: number;
  /** Connections handed to each backend so far, by its index. */
  handedOut: number[];
  /** Stops accepting connections; open ones carry on (what endpoint removal does). */
  stopAccepting(): void;
  /** Ends whatever connections are still open and releases the port. */
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: Backend[], port: number, host?: string): Promise<TcpBalancer> {
  if (backends.length === 0) throw new Error('a balancer needs at least one backend');
  const open = new Set<Socket>();
  const handedOut = backends.map(() => 0);
  let next = 0;

  /** Connects to the next backend that accepts, trying each at most once. */
  const connectUpstream = (attempt = 0): Promise<{ upstream: Socket; index: number } | null> => {
    if (attempt >= backends.length) return Promise.resolve(null);
    const index = next;
    next = (next + 1) % backends.length;
    const upstream = net.connect(backends[index]!);
    return new Promise((resolve) => {
      upstream.once('connect', () => resolve({ upstream, index }));
      upstream.once('error', () => {
        upstream.destroy();
        resolve(connectUpstream(attempt + 1));
      });
    });
  };

  const server = net.createServer({ pauseOnConnect: true }, async (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const connected = await connectUpstream();
    if (!connected || client.destroyed) {
      connected?.upstream.destroy();
      client.destroy();
      return;
    }
    const { upstream, index } = connected;
    handedOut[index]!++;
    open.add(upstream);
    upstream.once('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);

  let closed: Promise<void> | null = null;
  const stopAccepting = () => {
    closed ??= new Promise((resolve) => server.close(() => resolve()));
  };
  return {
    port: (server.address() as AddressInfo).port,
    handedOut,
    stopAccepting,
    async close() {
      stopAccepting();
      for (const socket of open) socket.destroy();
      await closed;
    },
  };
}
