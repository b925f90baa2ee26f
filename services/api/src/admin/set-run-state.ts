// POST /admin/v1/coupons/{code}/pause, /resume, /close: exact across every API replica.
import { insertAudit, lockCouponByCode, setCouponRunState, type CouponRow, type RunStateChange } from '@coupons/shared/db';
import { runStateOf, type RunState } from '@coupons/shared/redis';
import { HttpError, unavailable } from '../errors/http-error.ts';
import { dependencyDown } from '../errors/dependency-failure.ts';
import type { AdminIdentity } from './admin-tokens.ts';
import { announceQuietly, auditSnapshot, type AdminDeps } from './admin-deps.ts';

export type RunAction = 'pause' | 'resume' | 'close';

/** The run state each action leads to. */
const TARGET: Record<RunAction, RunState> = { pause: 'paused', resume: 'active', close: 'closed' };

const CHANGE: Record<RunState, RunStateChange> = {
  active: { paused: false, closed: false },
  paused: { paused: true, closed: false },
  closed: { paused: false, closed: true },
};

/**
 * Pause, resume or close a coupon. The promise: once this has returned, no API replica admits
 * another request for it (pause, close) — because the run state lives in the coupon's Redis
 * mirror, which admit-4.lua reads atomically with each admission.
 *
 * 1. Postgres, the truth, under the row lock: the run state (state_version + 1) and the audit
 *    row, in one transaction. A close is final: resuming or pausing a closed coupon is 409
 *    EVENT_CLOSED. Asking for the state it already has changes nothing and writes no audit row
 *    (a retry after a 503 is idempotent).
 * 2. Redis: the run state into the mirror, with its version (set-run-state-1.lua), so a retry or a
 *    heal racing with it can never put an older state back. If Redis cannot take it: 503 with
 *    Retry-After. Postgres keeps the new state (a retry writes it to Redis; a heal carries it too).
 * 3. Only then 200, and every process is told (its catalog and dashboard follow).
 *
 * Tickets admitted before stay in line and are decided in order: workers drain whatever the state.
 */
export async function setRunState(deps: AdminDeps, admin: AdminIdentity, code: string, action: RunAction): Promise<CouponRow> {
  const target = TARGET[action];
  const row = await deps.db.transaction().execute(async (trx) => {
    const before = await lockCouponByCode(trx, code);
    if (!before) throw new HttpError('COUPON_NOT_FOUND');
    const current = runStateOf(before);
    if (current === 'closed' && target !== 'closed') throw new HttpError('EVENT_CLOSED', `Coupon ${code} is closed; a close is final.`);
    if (current === target) return before;
    const after = await setCouponRunState(trx, before.id, CHANGE[target]);
    await insertAudit(trx, { action, couponCode: code, tokenId: admin.tokenId, before: auditSnapshot(before), after: auditSnapshot(after) });
    return after;
  });
  try {
    await deps.scripts.setRunState(code, runStateOf(row), row.state_version, deps.config.EVENT_RETENTION_SECONDS);
  } catch (error) {
    const dependency = dependencyDown(error);
    if (!dependency) throw error;
    deps.log.warn({ coupon: code, action, err: (error as Error).message }, 'run state saved in Postgres, not yet in Redis: 503, the client retries');
    throw unavailable(deps.config.RETRY_AFTER_SECONDS, `Redis (the ${action} is saved in Postgres and reaches Redis on a retry or the next heal)`);
  }
  await announceQuietly(deps, code);
  return row;
}
