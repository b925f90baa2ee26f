import { sql, type Kysely } from 'kysely';

/**
 * What Postgres knows that a Redis gone back in time does not:
 *
 * - `decided_seq`, the highest arrival sequence a committed batch decided. Written in the batch's
 *   transaction; a Redis whose mirror of it is lower has lost decisions (an `everysec` crash, an
 *   asynchronous replica promoted) and is healed from Postgres before anything else is decided.
 * - `lock_holder`, the random token of the lock holder that last wrote. With `lock_fence` it names
 *   one holder: a Redis that lost its fencing counter can hand the same number out twice, and the
 *   second holder to write with it is refused instead of writing beside the first.
 *
 * And a rule: once sold out, the quantity is frozen. A SOLD_OUT answer promises that nobody who
 * asks later gets a coupon; adding stock afterwards would break that promise.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('coupon')
    .addColumn('decided_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('lock_holder', 'text')
    .execute();

  await sql`
    CREATE FUNCTION coupon_quantity_frozen_after_sell_out() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.total_quantity <> OLD.total_quantity AND OLD.issued_quantity >= OLD.total_quantity THEN
        RAISE EXCEPTION 'coupon % is sold out: its quantity can no longer change', OLD.code
          USING ERRCODE = 'check_violation', CONSTRAINT = 'coupon_quantity_frozen_after_sell_out';
      END IF;
      RETURN NEW;
    END $$`.execute(db);
  await sql`
    CREATE TRIGGER coupon_quantity_frozen_after_sell_out BEFORE UPDATE OF total_quantity ON coupon
    FOR EACH ROW EXECUTE FUNCTION coupon_quantity_frozen_after_sell_out()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER coupon_quantity_frozen_after_sell_out ON coupon`.execute(db);
  await sql`DROP FUNCTION coupon_quantity_frozen_after_sell_out()`.execute(db);
  await db.schema.alterTable('coupon').dropColumn('lock_holder').dropColumn('decided_seq').execute();
}
