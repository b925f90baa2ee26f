// What a client saw of one request. Plain data: the load drivers write it, the poller and the
// verifier read it, and a test can craft it.

/** The clock every time below is on: epoch milliseconds with sub-millisecond precision. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * One POST as the client saw it. `status` 0 and `answeredAt` null: no answer came back
 * (timeout or broken connection).
 */
export interface RecordedRequest {
  userId: string;
  couponCode: string;
  sentAt: number;
  answeredAt: number | null;
  status: number;
  /** Problem `code` of an error answer. */
  code?: string;
  ticketId?: string;
  /** `position` of a 202/200 answer: the ticket's place in its coupon's line. */
  position?: number;
}

/** A request that was answered. */
export type AnsweredRequest = RecordedRequest & { answeredAt: number };

export const wasAnswered = (request: RecordedRequest): request is AnsweredRequest => request.answeredAt !== null;

/** The fields of an issue-request answer the harness records (a ticket, or a problem's code). */
export function parseAnswer(body: string): Pick<RecordedRequest, 'code' | 'ticketId' | 'position'> & { detail?: string } {
  try {
    const parsed = JSON.parse(body) as { code?: unknown; ticketId?: unknown; position?: unknown; detail?: unknown };
    return {
      ...(typeof parsed.code === 'string' && { code: parsed.code }),
      ...(typeof parsed.ticketId === 'string' && { ticketId: parsed.ticketId }),
      ...(typeof parsed.position === 'number' && { position: parsed.position }),
      ...(typeof parsed.detail === 'string' && { detail: parsed.detail }),
    };
  } catch {
    return {}; // not JSON: judged by its status alone
  }
}
