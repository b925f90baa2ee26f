import { parseAdmissionReply, type AdmissionResult } from '../domain/admission.ts';
import type { CouponRedis } from './commands.ts';
import { couponKeys } from './keys.ts';

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
}

/** Admits one request atomically in Redis (see admit-4.lua); the keys are built here, not by callers. */
export async function admitInRedis(redis: CouponRedis, prefix: string, request: AdmitRequest): Promise<AdmissionResult> {
  const keys = couponKeys(prefix, request.couponCode);
  const reply = await redis.admitIssueRequest(
    keys.users, keys.pending, keys.seq, keys.meta,
    request.userId, request.ticketId, request.couponCode, request.maxBacklog, keys.ticketPrefix,
    request.startsAt.getTime(), request.endsAt?.getTime() ?? -1, request.decidedSeqFloor, request.replaceExpired ? 1 : 0,
  );
  return parseAdmissionReply(reply);
}
