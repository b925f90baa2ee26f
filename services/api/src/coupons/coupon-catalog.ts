import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { listCoupons, type CouponRow, type Database } from '@coupons/shared/db';
import { couponTag } from '@coupons/shared/domain';
import { CouponChangeSubscription } from '@coupons/shared/redis';
import type { RedisClient } from '@coupons/shared/redis';

/** What admission needs to know of a coupon: that it exists, when it is open, and Postgres's high-water mark. */
export interface CatalogCoupon {
  code: string;
  startsAt: Date;
  endsAt: Date | null;
  /** Postgres had issued every coupon when the catalog was read (issued only grows: once true, always true). */
  soldOut: boolean;
  /**
   * An operator had closed it when the catalog was read (a close is final). Admission learns a
   * close from Redis's mirror, atomically; this answers only where the mirror is missing.
   */
  closed: boolean;
  /**
   * coupon.state_version when the catalog was read (it only grows): the admit script refuses a
   * mirror whose run state is older (a Redis gone back in time past a pause) until it is healed.
   */
  stateVersion: number;
  /**
   * The highest arrival sequence Postgres had decided when the catalog was read: a lower bound
   * (it only grows), so a Redis arrival counter below it has certainly gone back in time.
   */
  decidedSeq: string;
}

/**
 * The coupons, cached in memory. Admission must not query Postgres per request (it is the
 * hot path of a burst), and coupons change rarely: the admin API announces every change
 * (coupon-changes pub/sub, see `invalidate`), the cache also refreshes every `refreshMs` as the
 * safety net for a lost announcement, and an unknown code triggers at most one refresh per
 * `missRefreshMs` so a flood of bogus codes cannot hammer Postgres.
 *
 * After Redis reconnects (it may be a Redis restarted from an older AOF or snapshot, or a
 * replica promoted by Sentinel) admissions wait for one fresh read of Postgres's high-water
 * marks: the admit script compares them with Redis's counter before trusting its dedupe.
 */
export class CouponCatalog {
  private coupons = new Map<string, CatalogCoupon>();
  private byTag = new Map<number, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private lastMissRefresh = 0;
  private inflight: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;
  private changes: CouponChangeSubscription | undefined;
  /** Bumped at every Redis reconnect; floors are trusted once a read started after the latest bump has finished. */
  private distrust = 0;
  private trustedAt = 0;
  private freshRead: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    private readonly refreshMs = 5_000,
    private readonly missRefreshMs = 1_000,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((err) => this.log.warn({ err }, 'coupon refresh failed')), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.changes?.stop();
  }

  /**
   * Follows the admin API's change announcements (one subscription per process): each one, and
   * each resubscription after a drop, reads Postgres afresh. `stop()` ends the subscription too.
   */
  async followChanges(openConnection: () => Promise<RedisClient>, prefix: string): Promise<void> {
    const connection = await openConnection();
    connection.on('error', (err: Error) => this.log.warn({ err: err.message }, 'redis (coupon changes) connection error'));
    this.changes = await CouponChangeSubscription.start(connection, prefix, (code) => {
      this.invalidate().catch((err: Error) => this.log.warn({ coupon: code, err: err.message }, 'coupon refresh after a change failed; the periodic reload retries'));
    });
  }

  codes(): string[] {
    return [...this.coupons.keys()];
  }

  /** Redis reconnected: the next admissions first read Postgres's high-water marks afresh. */
  distrustFloors(): void {
    this.distrust += 1;
    this.freshRead = undefined;
  }

  /** The coupon, or undefined when Postgres does not know it either. Throws when a fresh read is due and Postgres cannot answer. */
  async find(code: string): Promise<CatalogCoupon | undefined> {
    if (this.trustedAt !== this.distrust) await this.readFloorsAfresh();
    const known = this.coupons.get(code);
    if (known) return known;
    await this.refreshAfterMiss();
    return this.coupons.get(code);
  }

  /** Codes of the coupons whose tag a ticket id carries (see ticket-id.ts); refreshed once on a miss. */
  async codesTagged(tag: number): Promise<string[]> {
    const known = this.byTag.get(tag);
    if (known) return known;
    await this.refreshAfterMiss();
    return this.byTag.get(tag) ?? [];
  }

  private readFloorsAfresh(): Promise<void> {
    if (!this.freshRead) {
      const generation = this.distrust;
      const read: Promise<void> = listCoupons(this.db)
        .then((rows) => {
          this.apply(rows);
          if (this.distrust === generation) this.trustedAt = generation;
        })
        .finally(() => {
          if (this.freshRead === read) this.freshRead = undefined;
        });
      this.freshRead = read;
    }
    return this.freshRead;
  }

  private async refreshAfterMiss(): Promise<void> {
    const now = Date.now();
    if (now - this.lastMissRefresh >= this.missRefreshMs) {
      this.lastMissRefresh = now;
      await this.refresh();
    } else if (this.inflight) {
      await this.inflight;
    }
  }

  /**
   * A coupon was created or changed (an announcement, or a resubscription after which anything
   * may have): read Postgres afresh. A read already in flight may have started before the change
   * committed, so it is followed by one more (coalesced: many announcements, one read after it).
   */
  invalidate(): Promise<void> {
    if (!this.inflight) return this.refresh();
    this.followUp ??= this.inflight.then(
      () => this.afterFollowUp(),
      () => this.afterFollowUp(),
    );
    return this.followUp;
  }

  private afterFollowUp(): Promise<void> {
    this.followUp = undefined;
    return this.refresh();
  }

  /** Reads the coupons from Postgres now (coalesced with a read in flight). */
  refresh(): Promise<void> {
    this.inflight ??= listCoupons(this.db)
      .then((rows) => this.apply(rows))
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Reads may finish out of order: high-water marks only grow, so the higher one is kept. */
  private apply(rows: CouponRow[]): void {
    const before = this.coupons;
    this.coupons = new Map(
      rows.map((row) => {
        const known = before.get(row.code);
        const decidedSeq = known && BigInt(known.decidedSeq) > BigInt(row.decided_seq) ? known.decidedSeq : row.decided_seq;
        const soldOut = row.issued_quantity >= row.total_quantity || (known?.soldOut ?? false);
        const closed = row.closed_at !== null || (known?.closed ?? false);
        const stateVersion = Math.max(row.state_version, known?.stateVersion ?? 0);
        return [row.code, { code: row.code, startsAt: row.starts_at, endsAt: row.ends_at, soldOut, closed, stateVersion, decidedSeq }];
      }),
    );
    const byTag = new Map<number, string[]>();
    for (const { code } of rows) byTag.set(couponTag(code), [...(byTag.get(couponTag(code)) ?? []), code]);
    this.byTag = byTag;
  }
}
