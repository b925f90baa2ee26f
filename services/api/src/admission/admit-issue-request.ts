import type { Queue } from 'bullmq';
import type { Config } from '@coupons/shared/config';
import { newTicketId, parseAdmissionReply, type AdmissionResult } from '@coupons/shared/domain';
import { issueJob, type IssueJobData } from '@coupons/shared/queue';
import { couponKeys, type CouponRedis } from '@coupons/shared/redis';
import { HttpError } from '../errors/http-error.ts';
import { isOpen, type CouponCatalog } from '../coupons/coupon-catalog.ts';
import type { ApiMetrics } from '../metrics/metrics.ts';

export interface AdmissionDeps {
  config: Config;
  redis: CouponRedis;
  queue: Queue<IssueJobData>;
  catalog: CouponCatalog;
  metrics: ApiMetrics;
}

/** The answer once the coupon is known to be exhausted: the common case late in a burst. */
export interface SoldOut {
  soldOut: true;
  problem: HttpError;
}

const soldOutProblems = new Map<string, HttpError>();

/** One shared, pre-built SOLD_OUT problem per coupon (its body is serialised once, see sendProblem). */
function soldOutProblem(couponCode: string): HttpError {
  let problem = soldOutProblems.get(couponCode);
  if (!problem) {
    problem = new HttpError(409, 'SOLD_OUT', `Coupon ${couponCode} is sold out.`);
    soldOutProblems.set(couponCode, problem);
  }
  return problem;
}

export interface Admitted {
  soldOut?: false;
  /** true for a first submission (202), false when the user already had a ticket (200). */
  created: boolean;
  ticketId: string;
  couponCode: string;
  status: string;
  position?: number;
}

/**
 * Admits one issue request: the coupon must exist and be open, then one atomic Lua call
 * dedupes, applies the sold-out fast path and the backlog bound, and assigns the arrival
 * sequence. Only a new ticket is enqueued. If this process dies between the script and the
 * enqueue, the worker's reconciler finds the ticket without a job and enqueues it.
 */
export async function admitIssueRequest(deps: AdmissionDeps, couponCode: string, userId: string): Promise<Admitted | SoldOut> {
  const { config, redis, queue, catalog, metrics } = deps;
  const coupon = await catalog.find(couponCode);
  if (!coupon) throw new HttpError(404, 'COUPON_NOT_FOUND', `No coupon with code ${couponCode}.`);
  if (!isOpen(coupon, new Date())) {
    metrics.admissions.inc({ coupon: couponCode, outcome: 'not_open' });
    throw new HttpError(409, 'EVENT_NOT_OPEN', `Coupon ${couponCode} is not open for requests now.`);
  }

  const keys = couponKeys(config.REDIS_PREFIX, couponCode);
  const result: AdmissionResult = parseAdmissionReply(
    await redis.admitIssueRequest(
      keys.users, keys.pending, keys.seq, keys.meta,
      userId, newTicketId(couponCode), couponCode, Date.now(), config.ADMISSION_MAX_BACKLOG, keys.ticketPrefix,
    ),
  );
  metrics.admissions.inc({ coupon: couponCode, outcome: result.outcome });

  switch (result.outcome) {
    case 'sold_out':
      // Returned, not thrown: after a sell-out most of a burst ends here, and the error path
      // through the router costs more than the admission itself.
      return { soldOut: true, problem: soldOutProblem(couponCode) };
    case 'overloaded':
      throw new HttpError(503, 'OVERLOADED', `Too many requests are waiting for ${couponCode}; retry later.`, {
        'Retry-After': String(config.RETRY_AFTER_SECONDS),
      });
    case 'admitted': {
      const job = issueJob({ ticketId: result.ticketId, couponCode });
      await queue.add(job.name, job.data, job.opts);
      return { created: true, ticketId: result.ticketId, couponCode, status: 'queued', position: result.position };
    }
    case 'existing':
      return {
        created: false,
        ticketId: result.ticketId,
        couponCode,
        status: result.status,
        position: result.position >= 0 ? result.position : undefined,
      };
  }
}
