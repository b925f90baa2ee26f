// The truth about each coupon after the burst: Postgres when we can reach it (issued_quantity,
// wallet rows, distinct users among them), else what the API says (GET /v1/coupons).
import { sql, type Kysely } from 'kysely';
import type { Database } from '@coupons/shared/db';
import type { CouponFacts } from './observed-run.ts';

export async function couponFactsFromPostgres(db: Kysely<Database>, codes: readonly string[]): Promise<CouponFacts[]> {
  const { rows } = await sql<{ code: string; total: number; issued: number; wallets: number; users: number }>`
    SELECT c.code, c.total_quantity AS total, c.issued_quantity AS issued,
           count(w.id)::int AS wallets, count(DISTINCT w.user_id)::int AS users
      FROM coupon c LEFT JOIN coupon_wallet w ON w.coupon_id = c.id
     WHERE c.code = ANY(${[...codes]})
     GROUP BY c.id`.execute(db);
  return rows.map((row) => ({
    code: row.code,
    limit: row.total,
    issued: row.issued,
    source: 'postgres',
    wallets: row.wallets,
    distinctWalletUsers: row.users,
  }));
}

export async function couponFactsFromApi(baseUrl: string, codes: readonly string[]): Promise<CouponFacts[]> {
  const res = await fetch(`${baseUrl}/v1/coupons`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/v1/coupons answered ${res.status}`);
  const coupons = (await res.json()) as { code: string; totalQuantity: number; issuedQuantity: number }[];
  return coupons
    .filter((coupon) => codes.includes(coupon.code))
    .map((coupon) => ({ code: coupon.code, limit: coupon.totalQuantity, issued: coupon.issuedQuantity, source: 'api' }));
}

/**
 * Ids of the coupons' wallets (a wallet's id is the id of the ticket that won it). Read in pages
 * of `pageSize` by id (keyset), so a run with a hundred thousand winners never holds one giant
 * query result: only the ids themselves.
 */
export async function walletIdsFromPostgres(db: Kysely<Database>, codes: readonly string[], pageSize = 10_000): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let after: string | null = null; ; ) {
    let query = db
      .selectFrom('coupon_wallet')
      .innerJoin('coupon', 'coupon.id', 'coupon_wallet.coupon_id')
      .select('coupon_wallet.id')
      .where('coupon.code', 'in', [...codes])
      .orderBy('coupon_wallet.id')
      .limit(pageSize);
    if (after !== null) query = query.where('coupon_wallet.id', '>', after);
    const rows = await query.execute();
    for (const row of rows) ids.add(row.id);
    if (rows.length < pageSize) return ids;
    after = rows.at(-1)!.id;
  }
}

export interface WalletRate {
  wallets: number;
  /** Epoch ms of the first and last wallet's issued_at (Postgres's clock). */
  firstAt: number | null;
  lastAt: number | null;
  /** Wallet rows per second from the first to the last (null with fewer than two). */
  perSecond: number | null;
}

/** How fast the workers wrote the coupons' wallet rows: one aggregate row, whatever the count. */
export async function walletRateFromPostgres(db: Kysely<Database>, codes: readonly string[]): Promise<WalletRate> {
  const { rows } = await sql<{ wallets: number; first_at: Date | null; last_at: Date | null }>`
    SELECT count(*)::int AS wallets, min(w.issued_at) AS first_at, max(w.issued_at) AS last_at
      FROM coupon_wallet w JOIN coupon c ON c.id = w.coupon_id
     WHERE c.code = ANY(${[...codes]})`.execute(db);
  const row = rows[0]!;
  const firstAt = row.first_at ? new Date(row.first_at).getTime() : null;
  const lastAt = row.last_at ? new Date(row.last_at).getTime() : null;
  const spanMs = firstAt !== null && lastAt !== null ? lastAt - firstAt : 0;
  return { wallets: row.wallets, firstAt, lastAt, perSecond: row.wallets > 1 && spanMs > 0 ? (row.wallets - 1) / (spanMs / 1000) : null };
}
