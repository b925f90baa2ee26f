import { primaryForKey, type RedisClient } from '@coupons/shared/redis';
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
 * On a Redis Cluster (REDIS_CLUSTER_NODES) the admission writes on up to two primaries: the one
 * serving the coupon's slot (`{CODE}`: the admit script) and the one serving its queue shard's
 * slot (Queue.add); each has its own replication stream, and WAIT must run on that very node. So
 * `begin(couponCode)` notes which primary serves each of the admission's slots (`slotKeys`, as
 * the ack connection's slot map says), and the confirmation sends, on each such primary's node
 * connection, a marker write of a key in the same slot (a PUBLISH is not replicated in cluster
 * mode: it travels the cluster bus) and WAIT. It holds only if every slot is still served by the
 * primary noted at `begin` and each WAIT was acknowledged. A primary that died is unreachable; a
 * promoted replica is another address (and has no replica of its own until one is re-attached);
 * a demoted one answers MOVED to the marker: each is a 503, never a false confirmation. Rounds are
 * group commits per primary, as above.
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
  /** Cluster mode: each slot key of the admission → the address of the primary serving it at `begin` (undefined: unknown). */
  readonly primaries?: ReadonlyMap<string, string | undefined>;
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
  /**
   * Cluster mode (the ack connection is a Cluster client): a key of each slot an admission for
   * `couponCode` writes (its coupon's, its queue shard's), and the marker key written on the
   * primary of a slot key's slot (same hash tag, so the same slot).
   */
  cluster?: {
    slotKeys(couponCode: string): string[];
    markerKey(slotKey: string): string;
  };
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
    // A Cluster client's INFO goes to any one node: no run_id to learn, the slot map decides (see above).
    if (this.options.cluster) return;
    await Promise.all([this.ack, ...this.writers].map((connection) => connection.known()));
  }

  /** Call before the admission's first write. */
  begin(couponCode?: string): ReplicaAckToken {
    const generations = this.writers.map((writer) => writer.generation);
    const { cluster } = this.options;
    if (!cluster || couponCode === undefined) return { generations };
    const ack = this.options.ackConnection;
    return { generations, primaries: new Map(cluster.slotKeys(couponCode).map((key) => [key, primaryForKey(ack, key)?.address])) };
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
        if (this.options.cluster) {
          await this.clusterRounds(batch);
          continue;
        }
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

  /** Cluster mode: one marker + WAIT per primary the batch's admissions wrote on, all at once. */
  private async clusterRounds(batch: Waiter[]) {
    const { cluster } = this.options;
    const ack = this.options.ackConnection;
    // address → a slot key it served at begin (its marker goes in that slot).
    const byAddress = new Map<string, string>();
    for (const waiter of batch) {
      for (const [key, address] of waiter.token.primaries ?? []) if (address && !byAddress.has(address)) byAddress.set(address, key);
    }
    const outcomes = new Map<string, string | undefined>();
    // A slot with no known primary at begin: the ack connection's slot map is behind (a failover).
    if (batch.some((waiter) => [...(waiter.token.primaries?.values() ?? [])].includes(undefined))) this.refreshSlots();
    await Promise.all(
      [...byAddress].map(async ([address, key]) => {
        this.stats.rounds++;
        const now = primaryForKey(ack, key);
        if (now?.address !== address) {
          outcomes.set(address, `the slot of ${key} moved from ${address} to ${now?.address ?? 'no known primary'}`);
          this.refreshSlots();
          return;
        }
        try {
          const replicas = this.options.replicas ?? 1;
          // On that node's own connection: a keyed write in the slot, then WAIT for it.
          const [, acknowledged] = await Promise.all([now.node.psetex(cluster!.markerKey(key), 60_000, '1'), now.node.wait(replicas, this.options.timeoutMs)]);
          outcomes.set(address, acknowledged < replicas ? `${acknowledged} replica(s) of ${address} acknowledged within ${this.options.timeoutMs} ms` : undefined);
        } catch (error) {
          // MOVED (the node was demoted), or the node is gone: learn the new slot map for the next admissions.
          outcomes.set(address, `WAIT on ${address} failed: ${(error as Error).message.split('\n')[0]}`);
          this.refreshSlots();
        }
      }),
    );
    for (const waiter of batch) {
      let failure: string | undefined;
      const primaries = waiter.token.primaries;
      if (!primaries) failure = 'no coupon given to begin(): the slots written are unknown';
      for (const [key, address] of primaries ?? []) {
        failure ??= address === undefined ? `no known primary served the slot of ${key} at the admission` : outcomes.get(address);
      }
      const moved = this.writers.findIndex((writer, i) => writer.generation !== waiter.token.generations[i]);
      if (!failure && moved >= 0) failure = `write connection ${moved} reconnected`;
      this.finish(waiter, failure);
    }
  }

  /** Asks the ack Cluster client for the current slot map now (it refreshes by itself only on routed commands and every 2 s). */
  private refreshSlots() {
    const ack = this.options.ackConnection as { refreshSlotsCache?: (callback?: (error?: Error) => void) => void };
    ack.refreshSlotsCache?.(() => {});
  }

  private finish(waiter: Waiter, failure: string | undefined) {
    if (failure) {
      this.stats.failed++;
      waiter.reject(new ReplicaAckError(this.options.retryAfterSeconds, failure));
    } else {
      this.stats.confirmed++;
      waiter.resolve();
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
    this.finish(waiter, failure);
  }
}
