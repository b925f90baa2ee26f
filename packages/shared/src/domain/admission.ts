/** What admission decided, as the admit-4.lua script reports it. */
export type AdmissionOutcome = 'admitted' | 'existing' | 'expired' | 'sold_out' | 'overloaded' | 'not_ready' | 'not_open' | 'paused';

/** The script's numeric codes, mapped in one place. */
const OUTCOME_BY_CODE: Record<number, AdmissionOutcome> = {
  1: 'admitted',
  2: 'existing',
  3: 'expired',
  [-1]: 'sold_out',
  [-2]: 'overloaded',
  [-3]: 'not_ready',
  [-4]: 'not_open',
  [-5]: 'paused',
};

export interface AdmissionResult {
  outcome: AdmissionOutcome;
  ticketId: string;
  /** The ticket's status (existing, admitted); why not ready ('missing' | 'stale' | 'behind'); 'early' | 'ended' | 'closed' (not open). */
  status: string;
  /** Requests ahead (admitted/existing and queued), or the backlog (overloaded). */
  position: number;
  seq: number;
  /** Redis's clock when it answered, ms: the one clock of the opening window and of createdAt. */
  now: number;
}

export function parseAdmissionReply(reply: [number, string, string, number, number, number]): AdmissionResult {
  const [code, ticketId, status, position, seq, now] = reply;
  const outcome = OUTCOME_BY_CODE[code];
  if (!outcome) throw new Error(`admit script returned unknown code ${code}`);
  return { outcome, ticketId, status, position: Number(position), seq: Number(seq), now: Number(now) };
}
