import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { Database } from '@coupons/shared/db';
import type { CouponRedis } from '@coupons/shared/redis';

/** Where a hook runs: the coupon being drained and the fencing token of the batch. */
export interface BatchPoint {
  couponCode: string;
  fence: number;
}

/**
 * Points of a batch where a test or a chaos run may act (a pause, to land a fault inside a
 * batch). None in production: main.ts installs them only when fault injection is configured
 * (fault-injection.ts); tests pass their own.
 */
export interface BatchHooks {
  /** Before the batch's Postgres transaction starts (the tickets are read, nothing is written). */
  beforeCommit?(at: BatchPoint): Promise<void>;
  /** After the batch's commit, before its tickets are resolved in Redis. */
  afterCommit?(at: BatchPoint): Promise<void>;
}

/** What the worker's pieces need; built once in main.ts (or by a test). */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  redis: CouponRedis;
  db: Kysely<Database>;
  /** No-ops when absent, as in production. */
  hooks?: BatchHooks;
}
