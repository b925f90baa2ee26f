// What a fault excuses. With no rules (a burst, a process test without faults), every deviation
// from the contract is a failure. A chaos scenario names the fault it caused; the verifier then
// states, instead of failing, exactly the losses that fault explains — and nothing else.

export interface FaultRules {
  /** A dependency was down: 503 UNAVAILABLE (with Retry-After) is the contract, not an error. */
  unavailableExpected?: boolean;
  /** The per-user dedupe was lost: a resubmission may get a second ticket (never a second coupon). */
  secondTicketsExpected?: boolean;
  /** Redis was flushed: tickets admitted before the flush are gone, and users' places in line with them. */
  redisFlushed?: boolean;
  /**
   * Redis went back in time (restored from an older snapshot, or an asynchronous replica
   * promoted): `lost` are the tickets answered 202 before the fault that neither Redis (right
   * after it) nor Postgres (a wallet) kept — see countLostAdmissions. Only those may poll 404,
   * and only their users may get a second ticket; every other ticket must end final.
   */
  rewound?: { lost: ReadonlySet<string> };
  /**
   * An operator paused or closed the event during the run (admin API): 409 EVENT_PAUSED and 409
   * EVENT_NOT_OPEN are then the contract's answers, not errors. Such an answer puts nobody in line.
   */
  operatorStopped?: boolean;
}

export interface LostAdmissions {
  /** Tickets answered 202 before the fault. */
  acknowledged: number;
  /** ... of which Redis still held the ticket hash right after the fault. */
  survivedInRedis: number;
  /** ... of which Redis had lost the ticket, but Postgres holds its wallet (answered from Postgres). */
  survivedAsWallet: number;
  /** ... neither: the acknowledged admissions the fault lost. */
  lost: Set<string>;
}

/**
 * The admissions a Redis that went back in time lost: answered 202 before the fault (`before`),
 * the ticket hash not in Redis right after it (`inRedis`: ids whose hash exists there), and no
 * wallet in Postgres (`walletIds`: a wallet's id is its ticket's). Pure.
 */
export function countLostAdmissions(
  before: readonly { status: number; ticketId?: string }[],
  inRedis: ReadonlySet<string>,
  walletIds: ReadonlySet<string>,
): LostAdmissions {
  const acknowledged = new Set(before.filter((r) => r.status === 202 && r.ticketId).map((r) => r.ticketId!));
  const result: LostAdmissions = { acknowledged: acknowledged.size, survivedInRedis: 0, survivedAsWallet: 0, lost: new Set() };
  for (const id of acknowledged) {
    if (inRedis.has(id)) result.survivedInRedis++;
    else if (walletIds.has(id)) result.survivedAsWallet++;
    else result.lost.add(id);
  }
  return result;
}
