// Everything the live dashboard needs on one replica, built from config: this replica's snapshot
// publisher (so the other replicas' dashboards count it too), the aggregator over all replicas,
// the browser sessions (also the admin API's AdminSessions) and the /dashboard routes.
import type { Router } from 'express';
import type { RedisClient } from '@coupons/shared/redis';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { Database } from '@coupons/shared/db';
import { AdminTokens } from '../admin/admin-tokens.ts';
import type { ApiMetrics } from '../metrics/metrics.ts';
import { couponStatusReader, type ReadCouponStatuses } from '../stats/coupon-status.ts';
import { FiguresAggregator } from '../stats/figures-aggregator.ts';
import { SnapshotPublisher } from '../stats/snapshot-publisher.ts';
import { dashboardRouter } from './dashboard-router.ts';
import { DashboardSessions } from './dashboard-sessions.ts';

export interface DashboardDeps {
  config: Pick<Config, 'ADMIN_TOKEN' | 'REDIS_PREFIX'>;
  log: Logger;
  redis: RedisClient;
  db: Kysely<Database>;
  metrics: ApiMetrics;
  /** Each coupon's state and figures (default: Postgres's coupons and Redis's pending sets, stats/coupon-status.ts). */
  readCoupons?: ReadCouponStatuses;
}

export interface Dashboard {
  router: Router;
  /** The browser sessions: requireAdmin's AdminSessions, so the page's buttons reach the admin API. */
  sessions: DashboardSessions;
  publisher: SnapshotPublisher;
  figures: FiguresAggregator;
  /** Stops publishing (withdrawing this replica's snapshot) and computing. */
  stop(): Promise<void>;
}

/**
 * The dashboard, or undefined without ADMIN_TOKEN: nobody could sign in, so neither the page nor
 * the snapshots (read only by a dashboard) are served or written.
 */
export function createDashboard({ config, log, redis, db, metrics, readCoupons }: DashboardDeps): Dashboard | undefined {
  if (config.ADMIN_TOKEN.length === 0) return undefined;
  const tokens = new AdminTokens(config.ADMIN_TOKEN);
  const sessions = new DashboardSessions(config.ADMIN_TOKEN);
  const publisher = new SnapshotPublisher({ redis, prefix: config.REDIS_PREFIX, metrics, log });
  const figures = new FiguresAggregator({
    redis,
    prefix: config.REDIS_PREFIX,
    readCoupons: readCoupons ?? couponStatusReader(db, redis, config.REDIS_PREFIX),
    log,
  });
  publisher.start();
  return {
    router: dashboardRouter({ tokens, sessions, figures }),
    sessions,
    publisher,
    figures,
    async stop() {
      figures.stop();
      await publisher.stop();
    },
  };
}
