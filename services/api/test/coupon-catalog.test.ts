// The API's coupon catalog following the admin API's change announcements (coupons/coupon-catalog.ts):
// with the periodic reload set an hour away, only an announcement can teach it a new coupon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { publishCouponChange } from '@coupons/shared/redis';
import { createLogger } from '@coupons/shared/runtime';
import { createTestEnvironment, waitFor, type TestEnvironment } from '@coupons/shared/testing';
import { CouponCatalog } from '../src/coupons/coupon-catalog.ts';

const HOUR = 3_600_000;

describe('CouponCatalog following coupon changes', () => {
  let env: TestEnvironment;
  let catalog: CouponCatalog;
  const prefix = () => env.config.REDIS_PREFIX;
  const insert = (code: string, closed = false) =>
    env.db
      .insertInto('coupon')
      .values({ id: uuidv7(), code, name: code, discount_amount: 1, total_quantity: 5, closed_at: closed ? new Date() : null })
      .execute();

  beforeAll(async () => {
    env = await createTestEnvironment();
    catalog = new CouponCatalog(env.db, createLogger('catalog-test', 'silent'), HOUR, HOUR);
    await catalog.start();
    await catalog.followChanges(async () => new Redis(env.config.REDIS_URL, { autoResubscribe: false }), prefix());
  });
  afterAll(async () => {
    catalog?.stop();
    await env?.cleanup();
  });

  it('learns a coupon created after it started only when it is announced', async () => {
    await insert('CC0001');
    // Not announced: codes() never reads Postgres by itself, and the reload is an hour away.
    await catalog.refresh(); // a read that started and ended before the next insert
    await insert('CC0002');
    expect(catalog.codes()).not.toContain('CC0002');
    await publishCouponChange(env.redis, prefix(), 'CC0002');
    await waitFor(() => catalog.codes().includes('CC0002'), { message: 'the catalog to learn CC0002 from the announcement' });
  });

  it('an announcement during a read in flight is followed by one more read (the first may predate the change)', async () => {
    const inFlight = catalog.refresh();
    await insert('CC0003', true);
    await Promise.all([inFlight, catalog.invalidate()]);
    expect(catalog.codes()).toContain('CC0003');
    expect(await catalog.find('CC0003')).toMatchObject({ code: 'CC0003', closed: true });
  });
});
