import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Config } from '@coupons/shared/config';
import { findWalletOfUser, type Database, type IssuedWallet } from '@coupons/shared/db';
import { newTicketId, type AdmissionResult } from '@coupons/shared/domain';
import type { IssueEnqueuer } from './issue-enqueuer.ts';
import type { CouponScripts } from '@coupons/shared/redis';
import { HttpError, unavailable } from '../errors/http-error.ts';
import type { CatalogCoupon, CouponCatalog } from '../coupons/coupon-catalog.ts';
import type { ApiMetrics } from '../metrics/metrics.ts';
import type { HealRequests } from './heal-requests.ts';
import type { ReplicaAck } from './replica-ack.ts';

/**
 * While a worker heals a coupon's Redis state (milliseconds for thousands of wallets), an
 * admission waits for it rather than sending the client away: retried every HEAL_POLL_MS, up to
 * HEAL_WAIT_MS in all, then 503 with Retry-After.
 */
const HEAL_WAIT_MS = 1_500;
const HEAL_POLL_MS = 50;

export interface AdmissionDeps {
  config: Config;
  /** The coupon scripts on the admission connection. */
  scripts: CouponScripts;
  db: Kysely<Database>;
  catalog: CouponCatalog;
  metrics: ApiMetrics;
  heals: HealRequests;
  /** ADMISSION_DURABILITY=replica: a ticket is acknowledged only once a replica has it. */
  replicaAck?: ReplicaAck;
  /** Adds the jobs: one per batch of tickets admitted together (see issue-enqueuer.ts). */
  enqueuer: IssueEnqueuer;
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
    problem = new HttpError('SOLD_OUT', `Coupon ${couponCode} is sold out.`);
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

/** A winner's ticket, answered from Postgres: the wallet id is the ticket id. */
function heldWallet(wallet: IssuedWallet): Admitted {
  return { created: false, ticketId: wallet.walletId, couponCode: wallet.couponCode, status: 'issued' };
}

/**
 * Admits one issue request. The coupon must exist (the in-memory catalog); then one atomic Lua
 * call (admit-4.lua) judges the opening window by Redis's clock, dedupes, refuses a coupon an
 * operator paused or closed, applies the sold-out fast path and the backlog bound, and assigns the
 * arrival sequence. Only a new ticket is
 * enqueued. If this process dies between the script and the enqueue, the worker's reconciler
 * finds the ticket without a job and enqueues it.
 *
 * Postgres answers where Redis cannot be trusted to: a user whose ticket expired is told the
 * wallet they hold, and while a coupon's Redis state is missing or behind Postgres (lost, gone
 * back in time, or expired after the event) a sold-out coupon is answered from Postgres and any
 * other waits for a worker to heal it (503 if that takes too long). So a winner is never handed
 * a second ticket.
 */
export async function admitIssueRequest(deps: AdmissionDeps, couponCode: string, userId: string): Promise<Admitted | SoldOut> {
  const { config, scripts, db, catalog, metrics, replicaAck } = deps;
  // Taken before any write of this request, so the confirmation covers all of them.
  const replication = replicaAck?.begin(couponCode);
  const coupon = await catalog.find(couponCode);
  if (!coupon) throw new HttpError('COUPON_NOT_FOUND');

  const admit = (replaceExpired: boolean): Promise<AdmissionResult> =>
    scripts.admit({
      couponCode,
      userId,
      ticketId: newTicketId(couponCode),
      maxBacklog: config.ADMISSION_MAX_BACKLOG,
      startsAt: coupon.startsAt,
      endsAt: coupon.endsAt,
      decidedSeqFloor: coupon.decidedSeq,
      runVersionFloor: coupon.stateVersion,
      replaceExpired,
    });
  let result = await admit(false);
  for (const waitUntil = Date.now() + HEAL_WAIT_MS; result.outcome === 'not_ready' && !coupon.soldOut && !coupon.closed && Date.now() < waitUntil; ) {
    await deps.heals.ask(couponCode);
    await delay(HEAL_POLL_MS);
    result = await admit(false);
  }
  if (result.outcome === 'expired') {
    // The user's ticket expired after its TTL: a winner is told what they hold, anyone else asks anew.
    const wallet = await findWalletOfUser(db, couponCode, userId);
    if (wallet) {
      metrics.admissions.inc({ coupon: couponCode, outcome: 'existing' });
      return heldWallet(wallet);
    }
    result = await admit(true);
  }
  metrics.admissions.inc({ coupon: couponCode, outcome: result.outcome });

  switch (result.outcome) {
    case 'sold_out':
      // Returned, not thrown: after a sell-out most of a burst ends here, and the error path
      // through the router costs more than the admission itself.
      return { soldOut: true, problem: soldOutProblem(couponCode) };
    case 'overloaded':
      throw new HttpError('OVERLOADED', `Too many requests are waiting for ${couponCode}; retry later.`, {
        'Retry-After': String(config.RETRY_AFTER_SECONDS),
      });
    case 'not_open':
      throw new HttpError('EVENT_NOT_OPEN', result.status === 'closed' ? `Coupon ${couponCode} is closed.` : `Coupon ${couponCode} is not open for requests now.`);
    case 'paused':
      // An operator paused the event (admin API); it may resume, so the client is told when to ask again.
      throw new HttpError('EVENT_PAUSED', `Coupon ${couponCode} is paused; retry later.`, { 'Retry-After': String(config.RETRY_AFTER_SECONDS) });
    case 'not_ready':
      return answerWithoutFastPath(deps, coupon, userId);
    case 'admitted': {
      await deps.enqueuer.enqueue(couponCode, result.ticketId, result.seq);
      if (replication) await replicaAck!.confirmReplicated(replication);
      return { created: true, ticketId: result.ticketId, couponCode, status: 'queued', position: result.position };
    }
    case 'existing':
    case 'expired':
      // A ticket shown again must be as durable as a new one (its own admission may have been refused 503).
      if (replication) await replicaAck!.confirmReplicated(replication);
      return {
        created: false,
        ticketId: result.ticketId,
        couponCode,
        status: result.status,
        position: result.position >= 0 ? result.position : undefined,
      };
  }
}

/**
 * The coupon's Redis state is missing or behind Postgres. Closed by an operator, or sold out: the
 * user's wallet, else EVENT_NOT_OPEN or SOLD_OUT, straight from Postgres, without rebuilding a
 * finished event's state. Otherwise a worker is asked to heal it and the client retries.
 */
async function answerWithoutFastPath(deps: AdmissionDeps, coupon: CatalogCoupon, userId: string): Promise<Admitted | SoldOut> {
  // Closed for good, or sold out (Postgres says so, and neither changes back): nothing to rebuild
  // for it. A winner is told what they hold; anyone else why not.
  if (coupon.closed || coupon.soldOut) {
    const wallet = await findWalletOfUser(deps.db, coupon.code, userId);
    if (wallet) return heldWallet(wallet);
    if (coupon.closed) throw new HttpError('EVENT_NOT_OPEN', `Coupon ${coupon.code} is closed.`);
    return { soldOut: true, problem: soldOutProblem(coupon.code) };
  }
  await deps.heals.ask(coupon.code);
  throw unavailable(deps.config.RETRY_AFTER_SECONDS, `Coupon ${coupon.code}'s fast state (being rebuilt from Postgres)`);
}
