import type { RejectionReason } from '@coupons/shared/domain';

/** A pending ticket, as read from Redis, in arrival order. */
export interface Candidate {
  ticketId: string;
  seq: number;
  /** '' when the ticket's hash was lost: nobody to issue to. */
  userId: string;
}

export type Decision =
  | { ticketId: string; userId: string; status: 'issued'; replayed: boolean }
  | { ticketId: string; userId: string; status: 'rejected'; reason: RejectionReason | null };

export interface BatchDecision {
  /** One per candidate, in arrival order. */
  decisions: Decision[];
  /** Wallets to insert now (wallet id = ticket id). */
  newWallets: { ticketId: string; userId: string }[];
}

/**
 * Decides a batch in arrival order: the earliest candidates win while coupons remain.
 * Pure: no I/O, so it is tested exhaustively.
 *
 * @param candidates pending tickets, lowest arrival sequence first
 * @param existingWallets userId → walletId of the candidates' users who already hold this coupon
 * @param remaining total_quantity - issued_quantity, read under the fenced row lock
 *
 * A wallet whose id is the candidate's own ticket id means this exact ticket already won in a
 * batch that committed but whose Redis resolve was lost (worker killed in between): it is
 * reported issued again, not rejected, and takes no new coupon.
 */
export function decideBatch(
  candidates: readonly Candidate[],
  existingWallets: ReadonlyMap<string, string>,
  remaining: number,
): BatchDecision {
  const decisions: Decision[] = [];
  const newWallets: { ticketId: string; userId: string }[] = [];
  const seenInBatch = new Map<string, boolean>(); // userId → won
  let left = Math.max(0, remaining);

  for (const { ticketId, userId } of candidates) {
    if (!userId) {
      decisions.push({ ticketId, userId, status: 'rejected', reason: null });
      continue;
    }
    const walletId = existingWallets.get(userId);
    if (walletId !== undefined) {
      decisions.push(
        walletId === ticketId
          ? { ticketId, userId, status: 'issued', replayed: true }
          : { ticketId, userId, status: 'rejected', reason: 'ALREADY_ISSUED' },
      );
      continue;
    }
    const earlierWon = seenInBatch.get(userId);
    if (earlierWon !== undefined) {
      decisions.push({ ticketId, userId, status: 'rejected', reason: earlierWon ? 'ALREADY_ISSUED' : 'SOLD_OUT' });
      continue;
    }
    const wins = left > 0;
    seenInBatch.set(userId, wins);
    if (wins) {
      left -= 1;
      newWallets.push({ ticketId, userId });
      decisions.push({ ticketId, userId, status: 'issued', replayed: false });
    } else {
      decisions.push({ ticketId, userId, status: 'rejected', reason: 'SOLD_OUT' });
    }
  }
  return { decisions, newWallets };
}
