import type { Logger } from 'pino';
import { decodeDecidedBatch, ticketEventsChannel, type DecidedBatch, type RedisClient } from '@coupons/shared/redis';

/** How the subscriber connection is opened: main.ts through connectRedis (Sentinel-aware), tests by duplicating theirs. */
export type OpenSubscriber = () => Promise<RedisClient>;

/**
 * The subscriber connection's ioredis options. It only ever SUBSCRIBEs, so it queues nothing
 * while away; it re-subscribes itself on every reconnect (not ioredis's autoResubscribe), so it
 * knows when the subscription is back and can have every stream re-read (a message published
 * while it was away is lost: Pub/Sub delivers at most once).
 */
export function subscriberOptions(connectionName: string) {
  return {
    connectionName,
    autoResubscribe: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    connectTimeout: 3_000,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
  };
}

export interface SubscriptionEvents {
  /** A worker decided a batch. */
  batch(batch: DecidedBatch): void;
  /** The subscription is back after a drop: whatever was published meanwhile is lost, re-read everything. */
  resubscribed(): void;
}

/**
 * The one Redis subscription of an API process (issue 13: not one per client). Opened lazily by
 * the first ticket stream, so a process that never serves one holds no extra connection.
 */
export class DecisionsSubscription {
  private subscriber: RedisClient | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;
  /** Times the subscription came back after a drop (tests, logs). */
  reconnects = 0;

  constructor(
    private readonly open: OpenSubscriber,
    private readonly prefix: string,
    private readonly events: SubscriptionEvents,
    private readonly log: Logger,
  ) {}

  /** Resolves once subscribed (at once after the first time); rejects if Redis cannot be reached now (the next call tries again). */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the ticket events subscription is closed'));
    this.opening ??= this.subscribe().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  private async subscribe(): Promise<void> {
    const channel = ticketEventsChannel(this.prefix);
    const subscriber = await this.open();
    if (this.closed) {
      subscriber.disconnect();
      return;
    }
    subscriber.on('error', (error: Error) => this.log.warn({ err: error.message }, 'redis (ticket events) connection error'));
    try {
      await subscriber.subscribe(channel);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    this.subscriber = subscriber;
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const batch = decodeDecidedBatch(message);
      if (batch) this.events.batch(batch);
      else this.log.warn({ bytes: message.length }, 'ticket events: a message that is not a decided batch, ignored');
    });
    // Every 'ready' after the first is a reconnect (a Redis restart, a failover: Sentinel gives
    // the new primary): subscribe again, then have every stream re-read its ticket. A Cluster
    // client subscribes on one node and, when that node goes, again on another by itself (no
    // 'ready'); the hub's periodic re-read covers what was published in between.
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).then(
        () => {
          this.reconnects += 1;
          this.log.info({ reconnects: this.reconnects }, 'ticket events: subscribed again, re-reading every open stream');
          this.events.resubscribed();
        },
        (error: Error) => this.log.warn({ err: error.message }, 'ticket events: subscribing again failed (the next reconnect retries)'),
      );
    });
  }

  close(): void {
    this.closed = true;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
