// The API's listeners, with their limits set deliberately (issue 11). main.ts and the tests both
// listen through here, so what the tests attack is what production runs. Each limit, its default
// and why it is what it is: the README's "Limits" section.
import http, { type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '@coupons/shared/config';

export interface ListenerLimits {
  /** Open connections at once; the next one is closed as soon as it is accepted (no JS runs for it). */
  maxConnections: number;
  /** Open connections from one remote address; 0: no per-address cap. */
  maxConnectionsPerClient: number;
  /** A request's headers must have arrived within this (slowloris): else 408, connection closed. */
  headersTimeoutMs: number;
  /** The whole request, body included, must have arrived within this: else 408, connection closed. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Requests one connection may have in flight at once (pipelining); one more closes the connection. */
  maxPipelinedRequests: number;
}

/** Why a connection was refused or cut: the label of `http_connections_refused_total`. */
export type Refusal = 'max_connections' | 'per_client' | 'pipelining';

export interface ListenOptions {
  port: number;
  host?: string;
  /** Called once per refused or cut connection (metrics). */
  onRefused?: (reason: Refusal) => void;
}

/** The public listener's limits, from the configuration. */
export function publicLimits(config: Config): ListenerLimits {
  return {
    maxConnections: config.HTTP_MAX_CONNECTIONS,
    maxConnectionsPerClient: config.HTTP_MAX_CONNECTIONS_PER_CLIENT,
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxPipelinedRequests: config.HTTP_MAX_PIPELINED_REQUESTS,
  };
}

/**
 * The operations listener's: kubelet probes and a Prometheus scrape or two, inside the cluster.
 * A small cap of its own (it is never counted against the public one, so a flood of the public
 * port leaves the probes their connections), the same timeouts, short keep-alive (no balancer).
 */
export function opsLimits(config: Config): ListenerLimits {
  return {
    maxConnections: 64,
    maxConnectionsPerClient: 0,
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: 5_000,
    maxPipelinedRequests: config.HTTP_MAX_PIPELINED_REQUESTS,
  };
}

/**
 * Node checks the headers and request timeouts on a timer (every 30 s by default, so a 5 s
 * timeout could take 35 s). Check often enough that a timeout fires within a fifth of it late.
 */
const checkingInterval = (limits: ListenerLimits) => Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 5)));

/**
 * Node's server emits every pipelined request at once (only the answers queue up), so one
 * connection could start thousands of handlers. Counted per socket: the one past the bound closes
 * the connection, with whatever it still had in flight (no client that is not an attack pipelines:
 * browsers and proxies do not).
 */
function boundPipelining(handler: RequestListener, max: number, onRefused: (reason: Refusal) => void): RequestListener {
  const inFlight = new WeakMap<Socket, number>();
  return (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    const count = (inFlight.get(socket) ?? 0) + 1;
    if (count > max) {
      onRefused('pipelining');
      socket.destroy();
      return;
    }
    inFlight.set(socket, count);
    res.once('close', () => inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1));
    handler(req, res);
  };
}

/** At most `max` open connections from one remote address; the next ones are closed at once. */
function capPerClient(server: Server, max: number, onRefused: (reason: Refusal) => void): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      onRefused('per_client');
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/** An HTTP server with `limits` applied, not yet listening. */
export function createLimitedServer(handler: RequestListener, limits: ListenerLimits, onRefused: (reason: Refusal) => void = () => {}): Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingInterval(limits),
    },
    boundPipelining(handler, limits.maxPipelinedRequests, onRefused),
  );
  // Past it, Node closes the accepted socket before any JavaScript sees it ('drop').
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => onRefused('max_connections'));
  if (limits.maxConnectionsPerClient > 0) capPerClient(server, limits.maxConnectionsPerClient, onRefused);
  // Not a limit: no total per connection (a balancer's long-lived connection would be closed for nothing).
  server.maxRequestsPerSocket = 0;
  return server;
}

/** Listens with `limits`; resolves once listening, with the server and the port it got. */
export async function listenWithLimits(handler: RequestListener, limits: ListenerLimits, options: ListenOptions): Promise<{ server: Server; port: number }> {
  const server = createLimitedServer(handler, limits, options.onRefused);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** The public API's listener on PORT (or `port`), with the configured limits. */
export const listen = (handler: RequestListener, config: Config, options: Partial<ListenOptions> = {}) =>
  listenWithLimits(handler, publicLimits(config), { port: config.PORT, ...options });

/** The operations listener on OPS_PORT (or `port`). */
export const listenOps = (handler: RequestListener, config: Config, options: Partial<ListenOptions> = {}) =>
  listenWithLimits(handler, opsLimits(config), { port: config.OPS_PORT, ...options });
