import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { createDb, dropDatabase, prepareDatabase, type Database } from '../src/db/index.ts';
import { testDatabaseUrl } from '../src/testing/index.ts';


/** A database name nobody has used: `coupons_migrate_<random>`. */
function freshDatabaseUrl(): string {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/coupons_migrate_${randomBytes(4).toString('hex')}`;
  return url.toString();
}

async function databaseExists(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

function couponsIn(db: Kysely<Database>) {
  return db.selectFrom('coupon').select(['id', 'code', 'total_quantity', 'issued_quantity', 'ends_at']).orderBy('code').execute();
}

describe('prepareDatabase (real Postgres)', () => {
  const databaseUrl = freshDatabaseUrl();
  let existedBefore: boolean;
  let db: Kysely<Database>;

  beforeAll(async () => {
    existedBefore = await databaseExists(databaseUrl);
    await prepareDatabase(databaseUrl);
    db = createDb(databaseUrl, { applicationName: 'coupons-migrate-test' });
  });
  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(databaseUrl);
  });

  it('creates a missing database, migrates it and seeds the three coupons, open and without end', async () => {
    expect(existedBefore).toBe(false);
    expect(await databaseExists(databaseUrl)).toBe(true);
    const coupons = await couponsIn(db);
    expect(coupons.map(({ code, total_quantity, issued_quantity, ends_at }) => ({ code, total_quantity, issued_quantity, ends_at }))).toEqual([
      { code: 'A0001', total_quantity: 300, issued_quantity: 0, ends_at: null },
      { code: 'B0001', total_quantity: 2000, issued_quantity: 0, ends_at: null },
      { code: 'C0001', total_quantity: 10000, issued_quantity: 0, ends_at: null },
    ]);
    const open = await db.selectFrom('coupon').select('code').where('starts_at', '<=', new Date()).execute();
    expect(open).toHaveLength(3);
  });

  it('is idempotent, run again and twice at once: same coupons, what was issued is kept', async () => {
    const before = await couponsIn(db);
    await db.updateTable('coupon').set({ issued_quantity: 7 }).where('code', '=', 'B0001').execute();

    await prepareDatabase(databaseUrl);
    await Promise.all([prepareDatabase(databaseUrl), prepareDatabase(databaseUrl)]);

    const after = await couponsIn(db);
    expect(after.map((c) => c.id)).toEqual(before.map((c) => c.id));
    expect(after.find((c) => c.code === 'B0001')?.issued_quantity).toBe(7);
  });

  it('refuses an issued quantity above the limit (or below zero), and accepts exactly the limit', async () => {
    const setIssued = (quantity: number) =>
      db.updateTable('coupon').set({ issued_quantity: quantity }).where('code', '=', 'A0001').execute();

    await expect(setIssued(301)).rejects.toMatchObject({ code: '23514', constraint: 'coupon_issued_within_limit' });
    await expect(setIssued(-1)).rejects.toMatchObject({ code: '23514', constraint: 'coupon_issued_within_limit' });
    await setIssued(300);
    const a = await db.selectFrom('coupon').select('issued_quantity').where('code', '=', 'A0001').executeTakeFirstOrThrow();
    expect(a.issued_quantity).toBe(300);
  });

  it('starts every coupon with an empty high-water mark, and freezes the quantity once sold out', async () => {
    const [a] = await db.selectFrom('coupon').select(['id', 'decided_seq', 'lock_holder']).where('code', '=', 'A0001').execute();
    expect(a).toMatchObject({ decided_seq: '0', lock_holder: null });
    const code = `Q${randomBytes(3).toString('hex').toUpperCase()}`;
    await db.insertInto('coupon').values({ id: randomUUID(), code, name: 'frozen', discount_amount: 1, total_quantity: 2 }).execute();
    const setTotal = (total: number) => db.updateTable('coupon').set({ total_quantity: total }).where('code', '=', code).execute();
    await setTotal(3); // not sold out yet: stock may still change
    await db.updateTable('coupon').set({ issued_quantity: 3 }).where('code', '=', code).execute();
    // Sold out: a SOLD_OUT answer promised nobody later gets one, so no more stock.
    await expect(setTotal(4)).rejects.toMatchObject({ code: '23514', constraint: 'coupon_quantity_frozen_after_sell_out' });
    await expect(setTotal(4)).rejects.toThrow(/is sold out: its quantity can no longer change/);
    // Other changes to a sold-out coupon stay possible.
    await db.updateTable('coupon').set({ name: 'renamed' }).where('code', '=', code).execute();
  });

  it('refuses a second wallet of the same coupon for one user, but not of another coupon', async () => {
    const coupons = await couponsIn(db);
    const [a, b] = [coupons[0]!, coupons[1]!];
    const userId = randomUUID();
    const addWallet = (couponId: string) =>
      db.insertInto('coupon_wallet').values({ id: randomUUID(), coupon_id: couponId, user_id: userId }).execute();

    await addWallet(a.id);
    await expect(addWallet(a.id)).rejects.toMatchObject({ code: '23505', constraint: 'coupon_wallet_one_per_user' });
    await addWallet(b.id);
    const held = await db.selectFrom('coupon_wallet').select('coupon_id').where('user_id', '=', userId).execute();
    expect(held.map((w) => w.coupon_id).sort()).toEqual([a.id, b.id].sort());
  });

  // Two replicas migrating a server where the database does not exist yet race in
  // ensureDatabase: both see no database, both CREATE DATABASE; the loser gets 23505 (unique
  // violation on pg_database_datname_index) or 42P04, and must carry on.
  it('creates a missing database when two replicas run it at once', async () => {
    // A few fresh names, so the race is met on every run of this test.
    const failures: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const raced = freshDatabaseUrl();
      const results = await Promise.allSettled([prepareDatabase(raced), prepareDatabase(raced)]);
      await dropDatabase(raced);
      failures.push(...results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])));
    }
    expect(failures).toEqual([]);
  });
});
