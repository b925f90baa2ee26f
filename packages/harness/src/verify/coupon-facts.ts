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

/** Ids of the coupons' wallets (a wallet's id is the id of the ticket that won it). */
export async function walletIdsFromPostgres(db: Kysely<Database>, codes: readonly string[]): Promise<Set<string>> {
  const rows = await db
    .selectFrom('coupon_wallet')
    .innerJoin('coupon', 'coupon.id', 'coupon_wallet.coupon_id')
    .select('coupon_wallet.id')
    .where('coupon.code', 'in', [...codes])
    .execute();
  return new Set(rows.map((row) => row.id));
}
