// Is the cost per ticket linear (issue 12)? The admitted stage of the cost phase, at a small and
// a ten times larger size, each on a fresh private Redis and cluster (so the larger run inherits
// no warm or cold state from the smaller): a structure whose per-ticket cost grows with its size
// (a hash rehashing, a sorted set deepening, a scan) shows as a higher CPU per ticket at scale.
import type { BenchContext } from './bench-context.ts';
import { measureAdmitted, withCostCluster, type CostStage } from './cost.ts';
import { sendIssueRequests } from './http-load.ts';

const COUPON = 'COSTLINE';
const WARM_COUPON = 'COSTWARM';

export interface LinearitySize {
  admissions: number;
  admitted: CostStage;
  redisBytesPerTicket: number;
}

export interface LinearityMeasurements {
  small: LinearitySize;
  large: LinearitySize;
}

async function measureSize(ctx: BenchContext, admissions: number): Promise<LinearitySize> {
  ctx.log(`cost linearity: ${admissions} admissions on a fresh private Redis, 2 API + 2 worker processes`);
  const warmup = Math.max(1, ctx.options.warmupRequests);
  const coupons = [{ code: COUPON, limit: admissions }, { code: WARM_COUPON, limit: warmup }];
  return withCostCluster(ctx, coupons, async ({ url, sources, redis, settings, drained }) => {
    // Unmeasured admissions first (--warmup), so both sizes are measured JIT-warm: otherwise the
    // small run also pays the processes' warm-up and looks dearer per ticket than it is.
    await sendIssueRequests('linearity warm-up', { url, couponCode: WARM_COUPON }, warmup, settings);
    await drained(WARM_COUPON);
    const { stage, redisBytesPerTicket } = await measureAdmitted({ url, couponCode: COUPON, admissions, sources, redis, settings, drained: () => drained(COUPON) });
    return { admissions, admitted: stage, redisBytesPerTicket };
  });
}

export async function costLinearityPhase(ctx: BenchContext): Promise<LinearityMeasurements> {
  const [small, large] = ctx.options.linearityAdmissions;
  return { small: await measureSize(ctx, small), large: await measureSize(ctx, large) };
}

/** CPU per admitted ticket of every process together (API, worker, Redis, Postgres; not the load generator). */
export function systemUsPerTicket(size: LinearitySize): number {
  return Object.entries(size.admitted.perUnitUs)
    .filter(([role]) => role !== 'load generator')
    .reduce((sum, [, us]) => sum + us, 0);
}
