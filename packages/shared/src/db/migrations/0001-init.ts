import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('coupon')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('discount_amount', 'integer', (c) => c.notNull().check(sql`discount_amount >= 0`))
    .addColumn('total_quantity', 'integer', (c) => c.notNull().check(sql`total_quantity > 0`))
    .addColumn('issued_quantity', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lock_fence', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('ends_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('coupon_issued_within_limit', sql`issued_quantity BETWEEN 0 AND total_quantity`)
    .addCheckConstraint('coupon_window_ordered', sql`ends_at IS NULL OR ends_at > starts_at`)
    .execute();

  await db.schema
    .createTable('coupon_wallet')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('coupon_id', 'uuid', (c) => c.notNull().references('coupon.id'))
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('coupon_wallet_one_per_user', ['coupon_id', 'user_id'])
    .execute();

  await db.schema.createIndex('coupon_wallet_user_id').on('coupon_wallet').column('user_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('coupon_wallet').execute();
  await db.schema.dropTable('coupon').execute();
}
