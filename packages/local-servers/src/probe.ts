// Whether something answers at an address, asked the cheapest way that cannot be fooled by a
// port that merely accepts: Redis must answer PING; for Postgres an accepted TCP connection is
// enough to say "a server is there" (the services then say clearly if it is not usable).
import net from 'node:net';

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (value: net.Socket | null) => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      if (!value) socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.once('connect', () => done(socket));
    socket.once('error', () => done(null));
  });
}

/** A TCP connection to host:port is accepted within `timeoutMs`. */
export async function acceptsConnections(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const socket = await connect(host, port, timeoutMs);
  socket?.destroy();
  return socket !== null;
}

/**
 * A Redis server at host:port answers PING (an inline command: no client library needed). One
 * still loading its AOF answers LOADING: not yet; one asking for a password answers NOAUTH: there.
 */
export async function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const socket = await connect(host, port, timeoutMs);
  if (!socket) return false;
  return new Promise((resolve) => {
    let reply = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
    socket.on('error', () => finish(false));
    socket.write('PING\r\n');
  });
}
