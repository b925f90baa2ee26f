import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick). Another
 * process may take it before we do, so callers that start a server on it retry on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
