import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { AdminAuditRow, Database } from '../database.ts';

/** One operator change, as the admin use cases record it (in the change's own transaction). */
export interface AuditEntry {
  action: 'create' | 'update' | 'pause' | 'resume' | 'close';
  couponCode: string;
  tokenId: string;
  /** The coupon before the change (null for a create) and after it, as the admin API shows it. */
  before: unknown;
  after: unknown;
}

export async function insertAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('admin_audit')
    .values({
      id: uuidv7(),
      action: entry.action,
      coupon_code: entry.couponCode,
      token_id: entry.tokenId,
      before: entry.before === null ? null : JSON.stringify(entry.before),
      after: entry.after === null ? null : JSON.stringify(entry.after),
    })
    .execute();
}

export interface AuditQuery {
  /** At most this many rows (newest first). */
  limit: number;
  couponCode?: string | undefined;
}

/** The audit log, newest first. */
export function listAudit(db: Kysely<Database>, query: AuditQuery): Promise<AdminAuditRow[]> {
  let select = db.selectFrom('admin_audit').selectAll().orderBy('at', 'desc').orderBy('id', 'desc').limit(query.limit);
  if (query.couponCode !== undefined) select = select.where('coupon_code', '=', query.couponCode);
  return select.execute();
}
