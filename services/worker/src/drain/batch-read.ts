import { decodeMirror } from '@coupons/shared/redis';
import type { Candidate } from '../issuance/decide-batch.ts';
import type { RedisMirror } from '../issuance/issue-batch.ts';

export interface BatchRead {
  mirror: RedisMirror;
  /** Queued tickets that fell out of the pending set (sequences above decidedSeq with no pending entry). */
  outOfLine: number;
  /** The oldest pending tickets, in arrival order. */
  candidates: Candidate[];
}

/** Parses read-batch-3.lua's flat reply: { mirror, decidedSeq, issued, outOfLine, (ticketId, seq, userId)… }; the mirror's three as read-mirror-1.lua's. */
export function parseBatchRead(flat: string[]): BatchRead {
  const candidates: Candidate[] = [];
  for (let i = 4; i < flat.length; i += 3) {
    candidates.push({ ticketId: flat[i]!, seq: Number(flat[i + 1]), userId: flat[i + 2]! });
  }
  return {
    mirror: decodeMirror(flat),
    outOfLine: Number(flat[3] ?? 0),
    candidates,
  };
}
