import type { Candidate } from '@coupons/shared/domain';

/** What Redis believes of Postgres for one coupon (meta), as read with a batch. */
export interface RedisMirror {
  /** 'missing': no meta (lost, or expired after the event); 'stale': flagged for healing; 'ok'. */
  state: 'ok' | 'missing' | 'stale';
  issued: number;
  decidedSeq: string;
}

export interface BatchRead {
  mirror: RedisMirror;
  /** Queued tickets that fell out of the pending set (sequences above decidedSeq with no pending entry). */
  outOfLine: number;
  /** The oldest pending tickets, in arrival order. */
  candidates: Candidate[];
}

/** Parses read-batch-3.lua's flat reply: { mirror, decidedSeq, issued, outOfLine, (ticketId, seq, userId)… }. */
export function parseBatchRead(flat: string[]): BatchRead {
  const [state, decidedSeq, issued, outOfLine] = flat;
  const candidates: Candidate[] = [];
  for (let i = 4; i < flat.length; i += 3) {
    candidates.push({ ticketId: flat[i]!, seq: Number(flat[i + 1]), userId: flat[i + 2]! });
  }
  return {
    mirror: { state: state as RedisMirror['state'], decidedSeq: decidedSeq ?? '0', issued: Number(issued ?? 0) },
    outOfLine: Number(outOfLine ?? 0),
    candidates,
  };
}
