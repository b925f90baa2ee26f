// The chaos verdict on one scenario, as a row of the chaos table: the harness's one invariant
// checker judges the run under the scenario's fault rules (what the fault excuses, and only that),
// and this sums its figures per row.
import { verifyRun, type FaultRules, type ObservedRun } from '@coupons/harness/verify';

export type JudgeRules = FaultRules;

export interface CouponFigures {
  code: string;
  limit: number;
  issued: number;
}

export interface RowFigures {
  requests: number;
  /** 202 answers: new tickets. */
  accepted: number;
  coupons: CouponFigures[];
  /** Duplicate wallets in Postgres plus users holding two issued tickets. */
  duplicates: number;
  /** First-come inversions among users whose place in line survived the fault. */
  inversions: number;
  /** Tickets handed out that never reached a final state. */
  ticketsLost: number;
  /** 5xx the contract does not allow (a 500, a 503 that is neither OVERLOADED nor UNAVAILABLE). */
  serverErrors: number;
  unavailable: number;
  overloaded: number;
  unanswered: number;
  /** Answers per second during the burst. */
  acceptRps: number;
}

export interface Judgement {
  figures: RowFigures;
  violations: string[];
  /** Losses and oddities the fault itself explains, stated, not failed. */
  inherent: string[];
  notes: string[];
}

export function judge(run: ObservedRun, rules: JudgeRules = {}): Judgement {
  const verdict = verifyRun(run, rules);
  const sum = (figure: (c: (typeof verdict.coupons)[number]) => number) => verdict.coupons.reduce((total, c) => total + figure(c), 0);
  return {
    figures: {
      requests: verdict.requests,
      accepted: run.requests.filter((r) => r.status === 202).length,
      coupons: verdict.coupons.map(({ code, limit, issued }) => ({ code, limit, issued })),
      duplicates: sum((c) => (c.duplicateWalletsPostgres ?? 0) + c.duplicateUsersApi),
      inversions: sum((c) => c.inversions),
      ticketsLost: sum((c) => c.unfinishedTickets),
      serverErrors: verdict.serverErrors,
      unavailable: verdict.unavailable,
      overloaded: verdict.overloaded,
      unanswered: verdict.unanswered,
      acceptRps: verdict.acceptRps,
    },
    violations: verdict.failures,
    inherent: verdict.inherent,
    notes: verdict.notes,
  };
}
