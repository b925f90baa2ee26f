/** What admission decided, as the admit-4.lua script reports it. */
export type AdmissionOutcome = 'admitted' | 'existing' | 'sold_out' | 'overloaded';

/** The script's numeric codes, mapped in one place. */
const OUTCOME_BY_CODE: Record<number, AdmissionOutcome> = {
  1: 'admitted',
  2: 'existing',
  [-1]: 'sold_out',
  [-2]: 'overloaded',
};

export interface AdmissionResult {
  outcome: AdmissionOutcome;
  ticketId: string;
  status: string;
  /** Requests ahead (admitted/existing and queued), or the backlog (overloaded). */
  position: number;
  seq: number;
}

export function parseAdmissionReply(reply: [number, string, string, number, number]): AdmissionResult {
  const [code, ticketId, status, position, seq] = reply;
  const outcome = OUTCOME_BY_CODE[code];
  if (!outcome) throw new Error(`admit script returned unknown code ${code}`);
  return { outcome, ticketId, status, position: Number(position), seq: Number(seq) };
}
