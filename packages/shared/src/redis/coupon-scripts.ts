import { parseAdmissionReply, type AdmissionResult } from '../domain/admission.ts';
import type { CouponCommands, CouponRedis, TicketProgress } from './commands.ts';
import { decodeMirror, type CouponMirror, type MirrorFigures, type RunState } from './coupon-mirror.ts';
import { isCluster } from './client.ts';
import { couponKeys, ticketKey } from './keys.ts';

/** One issue request, as admission (admit-4.lua) takes it. */
export interface AdmitRequest {
  couponCode: string;
  userId: string;
  /** The id the ticket gets if it is admitted. */
  ticketId: string;
  /** Pending tickets above which the answer is `overloaded`. */
  maxBacklog: number;
  startsAt: Date;
  endsAt: Date | null;
  /** The highest arrival sequence Postgres is known to have decided: a Redis counter below it went back in time. */
  decidedSeqFloor: number | string;
  /** The user's previous ticket expired and Postgres holds no wallet for them: admit anew. */
  replaceExpired?: boolean;
  /** The lowest run-state version (coupon.state_version) Postgres is known to hold: a mirror below it lost a pause or close. Default 0. */
  runVersionFloor?: number;
}

/** What resolve-batch-2.lua takes after a batch's commit: Postgres's figures, and one outcome group per ticket. */
export interface BatchResolution {
  issued: number;
  total: number;
  decidedSeq: number | string;
  /** Postgres's figures before the batch: a mirror that did not know them is flagged, not advanced. */
  issuedBefore: number;
  decidedSeqBefore: number | string;
  /** Flat groups of 4: ticketId, status, reason ('' if none), walletId|issuedAt|userId ('' unless issued). */
  outcomes: (string | number)[];
}

/** A wallet to make its user's ticket again (the heal): the wallet id is the ticket id. */
export interface WalletTicket {
  walletId: string;
  userId: string;
  issuedAtMs: number;
}

/**
 * The coupon scripts of one deployment (its key prefix), called with domain arguments: every
 * method builds its coupon's keys here (keys.ts), so no caller handles a raw key or a list of
 * positional strings. Each method is one Lua script, atomic in the coupon's hash slot.
 */
export function couponScripts(redis: CouponRedis, prefix: string) {
  const keysOf = (couponCode: string) => couponKeys(prefix, couponCode);
  return {
    /** Admits one request (admit-4.lua): window, dedupe, readiness, sold out, backlog, arrival sequence. */
    async admit(request: AdmitRequest): Promise<AdmissionResult> {
      const keys = keysOf(request.couponCode);
      const reply = await redis.admitIssueRequest(
        keys.users, keys.pending, keys.seq, keys.meta,
        request.userId, request.ticketId, request.maxBacklog, keys.ticketPrefix,
        request.startsAt.getTime(), request.endsAt?.getTime() ?? -1, request.decidedSeqFloor, request.replaceExpired ? 1 : 0,
        request.runVersionFloor ?? 0,
      );
      return parseAdmissionReply(reply);
    },

    /** The next batch and the mirror (read-batch-3.lua), flat; the worker parses it. */
    readBatch(couponCode: string, size: number): Promise<string[]> {
      const keys = keysOf(couponCode);
      return redis.readDecisionBatch(keys.pending, keys.meta, keys.seq, size, keys.ticketPrefix);
    },

    /** Tickets final after a commit, the mirror advanced or flagged (resolve-batch-2.lua). */
    resolve(couponCode: string, ticketTtlSeconds: number, batch: BatchResolution): Promise<number> {
      const keys = keysOf(couponCode);
      return redis.resolveDecisionBatch(
        keys.pending, keys.meta, keys.ticketPrefix, ticketTtlSeconds,
        batch.issued, batch.total, batch.decidedSeq, batch.issuedBefore, batch.decidedSeqBefore, ...batch.outcomes,
      );
    },

    /** The coupon's mirror of Postgres alone (read-mirror-1.lua), as readBatch reads it with a batch. */
    async readMirror(couponCode: string): Promise<CouponMirror & { runVersion: number }> {
      const reply = await redis.readCouponMirror(keysOf(couponCode).meta);
      return { ...decodeMirror(reply), runVersion: Number(reply[3] ?? -1) };
    },
    /** The mirror flagged stale (flag-mirror-stale-1.lua): nobody admits or decides on it until copyMirror. */
    flagMirrorStale: (couponCode: string): Promise<number> => redis.flagCouponMirrorStale(keysOf(couponCode).meta),
    /** Postgres's figures copied into the mirror and its stale flag cleared, in one step (copy-mirror-1.lua); returns the soldOut written. */
    copyMirror: (couponCode: string, figures: MirrorFigures): Promise<'0' | '1'> =>
      redis.copyCouponMirror(keysOf(couponCode).meta, figures.total, figures.issued, figures.decidedSeq, figures.run, figures.runVersion),
    /**
     * An operator's run state written into the mirror (set-run-state-1.lua), only over an older
     * version; onto a missing mirror with `missingTtlSeconds` as its lifetime. 1 written, 0 already there.
     */
    setRunState: (couponCode: string, run: RunState, runVersion: number, missingTtlSeconds: number): Promise<0 | 1> =>
      redis.setCouponRunState(keysOf(couponCode).meta, run, runVersion, missingTtlSeconds),

    /**
     * Live admission figures of each coupon, in one round trip: `pending` (admitted, undecided:
     * the pending set's size) and `admitted` (the arrival counter: requests admitted so far).
     */
    async admissionFigures(couponCodes: readonly string[]): Promise<{ pending: number; admitted: number }[]> {
      if (couponCodes.length === 0) return [];
      if (isCluster(redis)) {
        // A Cluster pipeline must stay within one slot: one small pipeline per coupon ({CODE}), all at once.
        return Promise.all(
          couponCodes.map(async (code) => {
            const [pending, admitted] = await Promise.all([redis.zcard(keysOf(code).pending), redis.get(keysOf(code).seq)]);
            return { pending, admitted: Number(admitted ?? 0) };
          }),
        );
      }
      const pipeline = redis.pipeline();
      for (const code of couponCodes) pipeline.zcard(keysOf(code).pending).get(keysOf(code).seq);
      const replies = (await pipeline.exec()) ?? [];
      const error = replies.find(([err]) => err)?.[0];
      if (error) throw error;
      return couponCodes.map((_, i) => ({ pending: Number(replies[2 * i]![1] ?? 0), admitted: Number(replies[2 * i + 1]![1] ?? 0) }));
    },

    /** The coupon lock and a new fencing token (> 0), or 0 while another holds it. */
    acquireLock(couponCode: string, holder: string, leaseMs: number): Promise<number> {
      const keys = keysOf(couponCode);
      return redis.acquireCouponLock(keys.lock, keys.fence, holder, leaseMs);
    },
    renewLock: (couponCode: string, holder: string, leaseMs: number): Promise<number> => redis.renewCouponLock(keysOf(couponCode).lock, holder, leaseMs),
    releaseLock: (couponCode: string, holder: string): Promise<number> => redis.releaseCouponLock(keysOf(couponCode).lock, holder),

    /** The fencing counter moved up to at least what Postgres has seen. */
    raiseFence: (couponCode: string, floor: number | string): Promise<number> => redis.raiseCounterFloor(keysOf(couponCode).fence, floor),
    /** The arrival counter moved up to at least `floor`. */
    raiseSeq: (couponCode: string, floor: number | string): Promise<number> => redis.raiseCounterFloor(keysOf(couponCode).seq, floor),

    /** Records that a queued job covers every arrival up to `seq` (see CouponKeys.enqueued). */
    markEnqueued: (couponCode: string, seq: number): Promise<number> => redis.raiseCounterFloor(keysOf(couponCode).enqueued, seq),

    /** Where a job's tickets stand, in order, each put back in line if it fell out (tickets-progress-1.lua). */
    ticketsProgress(couponCode: string, ticketIds: readonly string[]): Promise<TicketProgress[]> {
      if (ticketIds.length === 0) return Promise.resolve([]);
      const keys = keysOf(couponCode);
      return redis.ticketsProgress(keys.pending, keys.ticketPrefix, ...ticketIds);
    },

    /** A finished coupon's state given its retention, once nothing is pending (retire-coupon-state-5.lua). */
    retire(couponCode: string, retentionSeconds: number): Promise<number> {
      const keys = keysOf(couponCode);
      return redis.retireCouponState(keys.users, keys.pending, keys.seq, keys.meta, keys.fence, keys.enqueued, retentionSeconds);
    },

    /** Wallets made their users' tickets again (restore-wallet-tickets-1.lua); returns how many hashes were rewritten. */
    restoreWalletTickets(couponCode: string, ticketTtlSeconds: number, wallets: readonly WalletTicket[]): Promise<number> {
      const keys = keysOf(couponCode);
      return redis.restoreWalletTickets(keys.users, keys.ticketPrefix, ticketTtlSeconds, ...wallets.flatMap((w) => [w.walletId, w.userId, w.issuedAtMs]));
    },
  };
}

export type CouponScripts = ReturnType<typeof couponScripts>;
