import type { RedisClient } from '@coupons/shared/redis';
import { HttpError } from '../errors/http-error.ts';

/**
 * Durable admission (`ADMISSION_DURABILITY=replica`): a 202 is sent only once a replica has the
 * admission's writes, so a failover to that replica cannot lose an acknowledged ticket.
 *
 * How it is confirmed. `WAIT n ms` blocks the connection it is sent on until n replicas have
 * acknowledged the replication offset of *that connection's* last write. The admission writes on
 * two connections (the admit script, BullMQ's Queue.add), and a WAIT on either would also stall
 * every other command on it (ticket polls, the next admissions) for a round trip, or for the whole
 * timeout when the replica lags. So the WAIT goes on a third, dedicated connection, after a tiny
 * marker write of its own (a PUBLISH, which Redis propagates to replicas without touching a key):
 * the replication stream is one ordered log, so the marker's offset is past every write Redis
 * executed before it, on any connection. A write whose reply we had before the marker was sent
 * was executed before it; once a replica acknowledges the marker, it has that write too.
 *
 * Group commit: one marker + WAIT in flight at a time; every confirmation asked for while it is in
 * flight joins the next one. Under a burst, one WAIT covers hundreds of admissions, and nobody
 * waits for more than two rounds.
 *
 * Same server. The marker proves replication only for writes on the server the ack connection is
 * on. Around a failover the three connections reconnect at different moments (one may already be
 * on the new primary while a write just landed on the old one), so each connection is tracked: a
 * generation that changes on every close/ready, and the server's run_id learnt on each connection.
 * `begin()` (before the writes) records the write connections' generations; the confirmation
 * holds only if neither has reconnected since, and both are on the server (run_id) the marker was
 * acknowledged on. Otherwise: ReplicaAckError, 503 UNAVAILABLE, and the client retries (the
 * dedupe answers its ticket if the admission did survive).
 *
 * What it does not give: the replica has the writes in memory (and in its AOF per its own fsync
 * policy), not necessarily on disk; and with several replicas, Sentinel could promote one that
 * did not acknowledge (keep one replica per primary, or WAIT for all of them).
 */
export class ReplicaAckError extends HttpError {
  override name = 'ReplicaAckError';
  constructor(
    retryAfterSeconds: number,
    /** Why (for logs and tests; the client sees the generic 503 UNAVAILABLE). */
    readonly reason: string,
  ) {
    super('UNAVAILABLE', 'Redis replication is unavailable; retry later.', { 'Retry-After': String(retryAfterSeconds) });
  }
}

/** A connection's identity: changes whenever it reconnects; run_id of the server it is on, once known. */
class TrackedConnection {
  generation = 0;
  runId: string | undefined;
  private readonly onClose = () => this.invalidate();
  private readonly onReady = () => {
    this.invalidate();
    this.learnServer();
  };

  constructor(readonly redis: RedisClient) {
    redis.on('close', this.onClose);
    redis.on('ready', this.onReady);
    if (redis.status === 'ready') this.learnServer();
  }

  private invalidate() {
    this.generation++;
    this.runId = undefined;
  }

  /** INFO server on this connection: the run_id of the server this very connection talks to. */
  private learnServer() {
    const generation = this.generation;
    this.redis.info('server').then(
      (text) => {
        if (this.generation === generation) this.runId = /^run_id:(\w+)/m.exec(text)?.[1];
      },
      () => {},
    );
  }

  /** Resolves once the server is known (tests and start-up; admissions never wait for it). */
  async known(): Promise<void> {
    if (this.runId) return;
    const text = await this.redis.info('server');
    this.runId ??= /^run_id:(\w+)/m.exec(text)?.[1];
  }

  detach() {
    this.redis.off('close', this.onClose);
    this.redis.off('ready', this.onReady);
  }
}

/** What `begin()` hands out: the write connections' generations before the writes. */
export interface ReplicaAckToken {
  readonly generations: readonly number[];
}

export interface ReplicaAckOptions {
  /** A connection of its own (no auto-pipelining): WAIT blocks it while waiting. */
  ackConnection: RedisClient;
  /** The connections the admission writes on (admit script, Queue.add). */
  writeConnections: RedisClient[];
  /** ADMISSION_REPLICA_TIMEOUT_MS: WAIT's timeout. */
  timeoutMs: number;
  /** Replicas that must acknowledge (default 1). */
  replicas?: number;
  /** Retry-After of the 503. */
  retryAfterSeconds: number;
  /** The marker's PUBLISH channel (nobody subscribes; a channel, not a key). */
  channel: string;
}

export interface ReplicaAckStats {
  /** Marker + WAIT rounds sent. */
  rounds: number;
  /** Confirmations that succeeded / failed. */
  confirmed: number;
  failed: number;
}

interface Waiter {
  token: ReplicaAckToken;
  resolve: () => void;
  reject: (error: ReplicaAckError) => void;
}

type RoundOutcome = { runId: string } | { failure: string };

export class ReplicaAck {
  readonly stats: ReplicaAckStats = { rounds: 0, confirmed: 0, failed: 0 };
  private readonly ack: TrackedConnection;
  private readonly writers: TrackedConnection[];
  private waiting: Waiter[] = [];
  private running = false;

  constructor(private readonly options: ReplicaAckOptions) {
    this.ack = new TrackedConnection(options.ackConnection);
    this.writers = options.writeConnections.map((redis) => new TrackedConnection(redis));
  }

  /** Resolves once every connection's server is known (so the first admissions do not 503). */
  async ready(): Promise<void> {
    await Promise.all([this.ack, ...this.writers].map((connection) => connection.known()));
  }

  /** Call before the admission's first write. */
  begin(): ReplicaAckToken {
    return { generations: this.writers.map((writer) => writer.generation) };
  }

  /**
   * Resolves once a replica has every write sent (and answered) on the write connections since
   * `token` was taken; rejects with ReplicaAckError (→ 503 UNAVAILABLE) otherwise.
   */
  confirmReplicated(token: ReplicaAckToken): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ token, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Stops tracking the connections (they are closed by their owner). */
  close(): void {
    for (const connection of [this.ack, ...this.writers]) connection.detach();
  }

  private async drain() {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        const outcome = await this.round();
        for (const waiter of batch) this.settle(waiter, outcome);
      }
    } finally {
      this.running = false;
    }
  }

  /** One marker + WAIT on the ack connection. */
  private async round(): Promise<RoundOutcome> {
    this.stats.rounds++;
    const { generation, runId } = this.ack;
    if (!runId) return { failure: 'the acknowledgement connection is not connected to a known primary' };
    const { redis } = this.ack;
    try {
      // Both sent at once (in order, on this connection); both awaited, so neither can reject unhandled.
      const [, acknowledged] = await Promise.all([
        redis.publish(this.options.channel, ''),
        redis.wait(this.options.replicas ?? 1, this.options.timeoutMs),
      ]);
      if (this.ack.generation !== generation) return { failure: 'the acknowledgement connection reconnected during WAIT' };
      if (acknowledged < (this.options.replicas ?? 1)) {
        return { failure: `${acknowledged} replica(s) acknowledged within ${this.options.timeoutMs} ms` };
      }
      return { runId };
    } catch (error) {
      return { failure: `WAIT failed: ${(error as Error).message.split('\n')[0]}` };
    }
  }

  private settle(waiter: Waiter, outcome: RoundOutcome) {
    let failure = 'failure' in outcome ? outcome.failure : undefined;
    if (!failure) {
      const moved = this.writers.findIndex(
        (writer, i) => writer.generation !== waiter.token.generations[i] || writer.runId !== (outcome as { runId: string }).runId,
      );
      if (moved >= 0) failure = `write connection ${moved} reconnected or is on another server than the acknowledged one`;
    }
    if (failure) {
      this.stats.failed++;
      waiter.reject(new ReplicaAckError(this.options.retryAfterSeconds, failure));
    } else {
      this.stats.confirmed++;
      waiter.resolve();
    }
  }
}
