import type { RedisClient } from './client.ts';

/**
 * Coupons changed at run time (issue 13): the admin API publishes the code of every coupon it
 * creates or changes, and every API and worker process holds one subscription that refreshes what
 * it knows of coupons (the API's CouponCatalog, the worker's reconciler) within a second, with no
 * restart.
 *
 * A message is a hint, not the truth: Pub/Sub delivers at most once, and a subscriber that is
 * reconnecting misses what was sent meanwhile. So a reconnect counts as "something may have
 * changed" too, and each process keeps its periodic reload as the safety net.
 */

/** The Pub/Sub channel of a deployment (`REDIS_PREFIX`): several deployments may share one Redis. */
export function couponChangesChannel(prefix: string): string {
  return `${prefix}:coupon-changes`;
}

/** Tells every process that `couponCode` was created or changed; resolves to how many subscribers heard it. */
export function publishCouponChange(redis: RedisClient, prefix: string, couponCode: string): Promise<number> {
  return redis.publish(couponChangesChannel(prefix), couponCode);
}

/** Called with the changed coupon's code, or with undefined after a (re)subscription: anything may have changed. */
export type OnCouponChange = (couponCode: string | undefined) => void;

/**
 * One subscription per process on its own connection (a subscribed connection can do nothing
 * else), from the one connection factory (connectRedis: direct or through Sentinel, or a
 * duplicate of one). It subscribes again itself whenever the connection is ready again (whether
 * or not ioredis's autoResubscribe is on), then calls `onChange(undefined)`: whatever was
 * published while it was away is lost, so everything is re-read.
 */
export class CouponChangeSubscription {
  readonly #connection: RedisClient;
  readonly #channel: string;
  readonly #onMessage = (channel: string, message: string) => {
    if (channel === this.#channel) this.onChange(message);
  };
  readonly #onReady = () => {
    this.#connection.subscribe(this.#channel).then(
      () => this.onChange(undefined),
      () => {}, // the connection dropped again: the next ready retries
    );
  };

  private constructor(connection: RedisClient, prefix: string, private readonly onChange: OnCouponChange) {
    this.#connection = connection;
    this.#channel = couponChangesChannel(prefix);
  }

  /** Subscribes on `connection` (dedicated to it from now on), resolved once the subscription holds. */
  static async start(connection: RedisClient, prefix: string, onChange: OnCouponChange): Promise<CouponChangeSubscription> {
    const subscription = new CouponChangeSubscription(connection, prefix, onChange);
    connection.on('message', subscription.#onMessage);
    await connection.subscribe(subscription.#channel);
    // Only later readies are reconnects (the first one has passed by now).
    connection.on('ready', subscription.#onReady);
    return subscription;
  }

  /** Stops listening and closes the connection (at once: nothing is waiting on it). */
  stop(): void {
    this.#connection.off('ready', this.#onReady);
    this.#connection.off('message', this.#onMessage);
    this.#connection.disconnect();
  }
}
