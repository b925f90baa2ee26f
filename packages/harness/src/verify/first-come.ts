// First come, first served, as a client can check it: if X was answered (in line) before Y's
// request was sent, and Y got a coupon, X got one too.
import type { AnsweredRequest, RecordedRequest } from '../load/index.ts';

/** Whether this answer put the user in line: a ticket (202/200) or a true SOLD_OUT (409). */
export function isInLine(request: Pick<RecordedRequest, 'status' | 'code'>): boolean {
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

/**
 * Where each user stands in line, for the first-come count. A user whose first answer in line is
 * a 200 ("your existing ticket") was admitted by an earlier request that was answered 503 or not
 * at all (Redis went away between admitting it and answering). That request, not the 200, put
 * them in line: their place is taken from it (the latest such request before the 200, so a
 * real inversion is never hidden).
 */
export function placeInLine<T extends RecordedRequest>(requests: readonly T[]): { placed: T[]; admittedUnanswered: number } {
  const byUser = new Map<string, T[]>();
  for (const r of requests) byUser.set(r.userId, [...(byUser.get(r.userId) ?? []), r]);
  let admittedUnanswered = 0;
  const placed = [...byUser.values()].flatMap((mine) => {
    const ordered = [...mine].sort((a, b) => a.sentAt - b.sentAt);
    const first = ordered.findIndex((r) => r.answeredAt !== null && isInLine(r));
    const unanswered = ordered.slice(0, Math.max(0, first)).filter((r) => r.status === 0 || r.status >= 500);
    if (first < 0 || ordered[first]!.status !== 200 || unanswered.length === 0) return ordered;
    admittedUnanswered++;
    return ordered.map((r, i) => (i === first ? { ...r, sentAt: unanswered.at(-1)!.sentAt } : r));
  });
  return { placed, admittedUnanswered };
}
