import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { Database } from '@coupons/shared/db';
import { couponScripts, type CouponRedis, type CouponScripts } from '@coupons/shared/redis';

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

const scriptsByConnection = new WeakMap<CouponRedis, Map<string, CouponScripts>>();

/** The coupon scripts (domain arguments, keys built inside) on the worker's connection, built once per connection and prefix. */
export function scriptsOf(deps: Pick<WorkerDeps, 'redis' | 'config'>): CouponScripts {
  let byPrefix = scriptsByConnection.get(deps.redis);
  if (!byPrefix) scriptsByConnection.set(deps.redis, (byPrefix = new Map()));
  let scripts = byPrefix.get(deps.config.REDIS_PREFIX);
  if (!scripts) byPrefix.set(deps.config.REDIS_PREFIX, (scripts = couponScripts(deps.redis, deps.config.REDIS_PREFIX)));
  return scripts;
}
