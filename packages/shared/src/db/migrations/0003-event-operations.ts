import { sql, type Kysely } from 'kysely';

/**
 * Operating an event (issue 13): an operator pauses, resumes and closes a coupon, and every change
 * an operator makes is audited.
 *
 * The run state is two timestamps rather than a `state` enum: `paused_at` (set by a pause, cleared
 * by a resume) and `closed_at` (set by a close, never cleared: a close is final). The other states
 * an operator sees (scheduled, open, sold out, ended) follow from the window and the quantities and
 * are never stored, so they cannot disagree with them; the timestamps also say since when.
 *
 * `state_version` counts the run-state changes. Redis's mirror carries it too (coupon-mirror.lua),
 * and a write of the run state into Redis only ever raises it: a heal that read Postgres before a
 * pause cannot put the older "running" back over the pause it raced with.
 *
 * `admin_audit`: one row per change, written in the change's own transaction (no change without
 * its row, no row without its change), naming the token by its non-secret id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('coupon')
    .addColumn('paused_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('state_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Closed is final and replaces paused: a closed coupon is never also paused.
  await sql`ALTER TABLE coupon ADD CONSTRAINT coupon_closed_not_paused CHECK (closed_at IS NULL OR paused_at IS NULL)`.execute(db);

  await db.schema
    .createTable('admin_audit')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('coupon_code', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .execute();
  // Newest first is how the log is read (ids are time-ordered v7 UUIDs: a tie-break in order too).
  await db.schema.createIndex('admin_audit_newest_first').on('admin_audit').columns(['at desc', 'id desc']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('admin_audit').execute();
  await sql`ALTER TABLE coupon DROP CONSTRAINT coupon_closed_not_paused`.execute(db);
  await db.schema.alterTable('coupon').dropColumn('state_version').dropColumn('closed_at').dropColumn('paused_at').execute();
}
