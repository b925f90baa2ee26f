// A light fetch client for where autocannon does not fit: a few requests whose headers matter
// (an outage probe checks every 503's Retry-After), clients that honour Retry-After, and the
// small events of the process tests. Every answer is a RecordedRequest, so the poller and the
// verifier read it like autocannon's.
import { now, parseAnswer, type RecordedRequest } from './recorded-request.ts';
import { trustedHeaderIdentity, type ClientIdentity } from '../identity/index.ts';

/** One answer as a fetch client saw it, headers included. */
export interface ClientAnswer extends RecordedRequest {
  api: string;
  what: 'issue' | 'ticket' | 'coupons';
  retryAfter: string | null;
  contentType: string | null;
  detail?: string;
  /** Why there was no answer (client timeout, refused). */
  error?: string;
}

interface CallInit extends RequestInit {
  userId: string;
  couponCode: string;
  /** Who the request says it is (default: X-User-Id as is). */
  identity?: ClientIdentity;
}

/** One request as user `init.userId`; never throws: a failure is an answer with status 0. */
export async function call(api: string, what: ClientAnswer['what'], path: string, init: CallInit, timeoutMs: number): Promise<ClientAnswer> {
  const sentAt = now();
  const base = { api, what, userId: init.userId, couponCode: init.couponCode, sentAt };
  try {
    const { identity = trustedHeaderIdentity, ...request } = init;
    const res = await fetch(`${api}${path}`, { ...request, headers: await identity.authHeaders(init.userId), signal: AbortSignal.timeout(timeoutMs) });
    const body = parseAnswer(await res.text());
    return { ...base, answeredAt: now(), status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type'), ...body };
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return { ...base, answeredAt: null, status: 0, retryAfter: null, contentType: null, error: timedOut ? `no answer within ${timeoutMs} ms` : (error as Error).message };
  }
}

/** POST /v1/coupons/{code}/issue-requests as `userId`. */
export const issueRequest = (api: string, couponCode: string, userId: string, timeoutMs = 30_000, identity?: ClientIdentity): Promise<ClientAnswer> =>
  call(api, 'issue', `/v1/coupons/${couponCode}/issue-requests`, { method: 'POST', userId, couponCode, identity }, timeoutMs);

/** Issue requests for `userIds` in that order, `connections` in flight at once. */
export async function submitAll(api: string, couponCode: string, userIds: readonly string[], connections = 32, identity?: ClientIdentity): Promise<ClientAnswer[]> {
  const answers: ClientAnswer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < userIds.length) answers.push(await issueRequest(api, couponCode, userIds[next++]!, undefined, identity));
    }),
  );
  return answers;
}
