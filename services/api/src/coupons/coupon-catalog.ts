import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { listCoupons, type CouponRow, type Database } from '@coupons/shared/db';
import { couponTag } from '@coupons/shared/domain';

/** What admission needs to know of a coupon: that it exists and when it is open. */
export interface CatalogCoupon {
  code: string;
  startsAt: Date;
  endsAt: Date | null;
}

/**
 * The coupons, cached in memory. Admission must not query Postgres per request (it is the
 * hot path of a burst), and coupons change rarely: the cache refreshes every `refreshMs`, and
 * an unknown code triggers at most one refresh per `missRefreshMs` so a flood of bogus codes
 * cannot hammer Postgres.
 */
export class CouponCatalog {
  private coupons = new Map<string, CatalogCoupon>();
  private byTag = new Map<number, string[]>();
  private timer: NodeJS.Timeout | undefined;
  private lastMissRefresh = 0;
  private inflight: Promise<void> | undefined;

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
  }

  codes(): string[] {
    return [...this.coupons.keys()];
  }

  /** The coupon, or undefined when Postgres does not know it either. */
  async find(code: string): Promise<CatalogCoupon | undefined> {
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

  private async refreshAfterMiss(): Promise<void> {
    const now = Date.now();
    if (now - this.lastMissRefresh >= this.missRefreshMs) {
      this.lastMissRefresh = now;
      await this.refresh();
    } else if (this.inflight) {
      await this.inflight;
    }
  }

  private refresh(): Promise<void> {
    this.inflight ??= listCoupons(this.db)
      .then((rows: CouponRow[]) => {
        this.coupons = new Map(rows.map((row) => [row.code, { code: row.code, startsAt: row.starts_at, endsAt: row.ends_at }]));
        const byTag = new Map<number, string[]>();
        for (const { code } of rows) byTag.set(couponTag(code), [...(byTag.get(couponTag(code)) ?? []), code]);
        this.byTag = byTag;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}

export function isOpen(coupon: CatalogCoupon, now: Date): boolean {
  return now >= coupon.startsAt && (coupon.endsAt === null || now < coupon.endsAt);
}
