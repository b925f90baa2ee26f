// Every API replica writes its own snapshot into Redis about once a second, so the dashboard on
// any replica's operations port can show figures over all of them (figures-aggregator.ts).
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@coupons/shared/redis';
import type { Logger } from 'pino';
import type { ApiMetrics } from '../metrics/metrics.ts';
import { takeSnapshot } from './replica-snapshot.ts';
import { statsKeys } from './stats-keys.ts';

export interface SnapshotPublisherOptions {
  redis: RedisClient;
  prefix: string;
  metrics: ApiMetrics;
  log: Logger;
  /** How often a snapshot is written (default 1 s). */
  intervalMs?: number;
  /**
   * How long a snapshot outlives its replica (default 5 s): a replica that stops publishing
   * (killed, partitioned, stopped) drops out of the figures once its key expires.
   */
  ttlMs?: number;
}

/**
 * Publishes this replica's snapshot every `intervalMs`: one pipelined write (the snapshot with
 * its TTL, the replica's mark in the registry, and the registry pruned of replicas silent for a
 * minute), never a Redis command per request. A write that fails (Redis away) is skipped: the
 * next tick writes the current counters, which are cumulative, so nothing is lost but time.
 */
export class SnapshotPublisher {
  /** This process's id in the registry: random, so a restarted pod is a new replica. */
  readonly replicaId = randomBytes(6).toString('hex');
  readonly #startedAt = Date.now();
  readonly #options: Required<Omit<SnapshotPublisherOptions, 'log'>> & { log: Logger };
  #timer: NodeJS.Timeout | undefined;
  #publishing: Promise<void> | undefined;

  constructor(options: SnapshotPublisherOptions) {
    this.#options = { intervalMs: 1_000, ttlMs: 5_000, ...options };
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.publish(), this.#options.intervalMs);
    this.#timer.unref();
    void this.publish();
  }

  /** Writes one snapshot now (the timer calls it; tests too). A write still in flight is not doubled. */
  publish(): Promise<void> {
    this.#publishing ??= this.#write().finally(() => (this.#publishing = undefined));
    return this.#publishing;
  }

  async #write(): Promise<void> {
    const { redis, prefix, metrics, ttlMs, log } = this.#options;
    const keys = statsKeys(prefix);
    const now = Date.now();
    try {
      const snapshot = await takeSnapshot(metrics, this.replicaId, this.#startedAt, now);
      await redis
        .multi()
        .psetex(keys.snapshot(this.replicaId), ttlMs, JSON.stringify(snapshot))
        .zadd(keys.replicas, now, this.replicaId)
        // The registry only lists who may have a snapshot; a dead replica's entry goes after a minute.
        .zremrangebyscore(keys.replicas, '-inf', now - 60_000)
        // ...and the registry itself once no replica has published for a minute.
        .pexpire(keys.replicas, 60_000)
        .exec();
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'dashboard snapshot not published');
    }
  }

  /** Stops publishing and withdraws this replica's snapshot (a graceful stop leaves the figures at once). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#publishing;
    const keys = statsKeys(this.#options.prefix);
    await this.#options.redis
      .multi()
      .del(keys.snapshot(this.replicaId))
      .zrem(keys.replicas, this.replicaId)
      .exec()
      .catch(() => {});
  }
}
