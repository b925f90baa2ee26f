import { ReplyError } from 'ioredis';

/**
 * Redis error replies that mean "not now": Redis is up but refuses this command for the moment,
 * and the very same command succeeds once the condition clears. An API answers them 503
 * UNAVAILABLE with Retry-After; a worker retries them. Any other reply (WRONGTYPE, NOSCRIPT,
 * a script's own error) is a bug and stays one.
 */
export const REDIS_NOT_NOW_CODES = [
  'OOM', // maxmemory reached under noeviction: writes refused
  'MISCONF', // the last RDB save failed and stop-writes-on-bgsave-error is on
  'READONLY', // a replica (e.g. the old primary after a failover) refuses writes
  'NOREPLICAS', // fewer good replicas than min-replicas-to-write
  'BUSY', // a script runs past busy-reply-threshold: every command refused
  'LOADING', // the dataset (AOF/RDB) is still loading after a restart
  'MASTERDOWN', // a replica lost its primary and replica-serve-stale-data is off
  'CLUSTERDOWN', // the cluster cannot serve this slot
  'TRYAGAIN', // multi-key command during a slot migration
  'MOVED', // Redis Cluster: the slot is served elsewhere (reaches us only inside a discarded MULTI)
  'ASK', // Redis Cluster: the slot is migrating (idem)
] as const;

export type RedisNotNowCode = (typeof REDIS_NOT_NOW_CODES)[number];

const NOT_NOW = new Set<string>(REDIS_NOT_NOW_CODES);

// ioredis's error classes all come from redis-errors: ReplyError, and AbortError (which
// MaxRetriesPerRequestError extends) share its base RedisError, the prototype of ReplyError.
// The names are checked as well in case two copies of the package are installed.
const RedisError = Object.getPrototypeOf(ReplyError) as typeof ReplyError;
const isReplyError = (error: Error): boolean => error instanceof ReplyError || error.name === 'ReplyError';
const isRedisClientError = (error: Error): boolean => error instanceof RedisError || error.name === 'MaxRetriesPerRequestError';

/** Redis 6 wraps an error raised inside a script: "ERR Error running script (call to f_…): @user_script:1: -OOM …". */
const WRAPPED_IN_SCRIPT = /^ERR Error running script\b.*?: -([A-Z]+) /;

/**
 * The "not now" code of a Redis error reply, or undefined. The first word of a reply is its code
 * (Redis 7 keeps it when a script's redis.call fails); a MULTI/EXEC refused at queue time answers
 * EXECABORT, with the refusal among ioredis's `previousErrors`.
 */
export function redisRefusal(error: unknown): RedisNotNowCode | undefined {
  if (!(error instanceof Error) || !isReplyError(error)) return undefined;
  const message = error.message ?? '';
  const code = /^[A-Z]+/.exec(message)?.[0] ?? '';
  if (NOT_NOW.has(code)) return code as RedisNotNowCode;
  const wrapped = WRAPPED_IN_SCRIPT.exec(message)?.[1];
  if (wrapped && NOT_NOW.has(wrapped)) return wrapped as RedisNotNowCode;
  if (code === 'EXECABORT') {
    for (const previous of (error as { previousErrors?: unknown[] }).previousErrors ?? []) {
      const refusal = redisRefusal(previous);
      if (refusal) return refusal;
    }
  }
  return undefined;
}

/**
 * ioredis's own errors for a connection it does not have: these messages are constants in
 * ioredis's source (offline queue disabled, connection closed, commandTimeout), not text from
 * the network, so matching them is recognising ioredis, not guessing.
 */
const IOREDIS_CONNECTION_MESSAGES = [
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
  'Command timed out',
  'Command aborted due to connection close',
  // The Cluster client (ioredis/built/cluster): no slot map or no node to send to yet.
  "Cluster isn't ready and enableOfflineQueue options is false",
  'None of startup nodes is available',
  'Failed to refresh slots cache.',
];

/**
 * The Cluster client's message when a command was redirected or retried too often: MOVED/ASK,
 * CLUSTERDOWN, TRYAGAIN or a closed node connection, `maxRedirections` times in a row (it retries
 * only those, so this is always a cluster that has not settled: a failover or a resharding).
 */
const CLUSTER_REDIRECTIONS_EXHAUSTED = 'Too many Cluster redirections.';

/** Whether an error is ioredis telling a command that it has no usable connection to Redis. */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // MaxRetriesPerRequestError, and AbortError for commands in flight when the connection dropped.
  if (isReplyError(error)) return false;
  // ClusterAllFailedError ("Failed to refresh slots cache."): no node answered CLUSTER SLOTS.
  if (isRedisClientError(error) || error.name === 'ClusterAllFailedError') return true;
  return IOREDIS_CONNECTION_MESSAGES.includes(error.message) || error.message.startsWith(CLUSTER_REDIRECTIONS_EXHAUSTED);
}

/** Redis cannot do this now (refused, or unreachable): retry later; never a bug of ours. */
export function isRedisUnavailable(error: unknown): boolean {
  return redisRefusal(error) !== undefined || isRedisConnectionError(error);
}
