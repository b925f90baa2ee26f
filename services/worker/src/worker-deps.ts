import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { Database } from '@coupons/shared/db';
import type { CouponRedis } from '@coupons/shared/redis';

/** What the worker's pieces need; built once in main.ts (or by a test). */
export interface WorkerDeps {
  config: Config;
  log: Logger;
  redis: CouponRedis;
  db: Kysely<Database>;
}
