/** One request as a client saw it: when it was sent and answered, and what came back. */
export interface AnsweredRequest {
  userId: string;
  couponCode: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  /** problem `code` for error answers */
  code?: string;
  ticketId?: string;
}

/** Whether this answer put the user in line: a ticket (202/200) or a true SOLD_OUT (409). */
export function isInLine(request: AnsweredRequest): boolean {
  return request.status === 202 || request.status === 200 || (request.status === 409 && request.code === 'SOLD_OUT');
}

function upperBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * First-come-first-served inversions of one coupon: pairs of users (X, Y) where X's request
 * was answered (in line) before Y's first request was sent, Y got a coupon and X did not.
 * Zero is the promise. A user's place is set by their earliest request (resubmissions only
 * return the same ticket), so each user counts once, with their earliest send and answer.
 * O(n log n): losers' answer times sorted, one binary search per winner.
 */
export function countInversions(requests: readonly AnsweredRequest[], winners: ReadonlySet<string>): number {
  const firstSent = new Map<string, number>();
  const firstAnswered = new Map<string, number>();
  for (const request of requests) {
    if (!isInLine(request)) continue;
    firstSent.set(request.userId, Math.min(firstSent.get(request.userId) ?? Infinity, request.sentAt));
    firstAnswered.set(request.userId, Math.min(firstAnswered.get(request.userId) ?? Infinity, request.answeredAt));
  }
  const loserAnswers = [...firstAnswered]
    .filter(([userId]) => !winners.has(userId))
    .map(([, answeredAt]) => answeredAt)
    .sort((a, b) => a - b);
  let inversions = 0;
  for (const [userId, sentAt] of firstSent) {
    if (winners.has(userId)) inversions += upperBound(loserAnswers, sentAt);
  }
  return inversions;
}
