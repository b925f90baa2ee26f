// Latency figures of a run's answers.
import type { RecordedRequest } from '../load/index.ts';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (0 for an empty one). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Latency (answer - send) of the answered requests: p50, p90, p99, max. */
export function summarizeLatency(requests: readonly RecordedRequest[]): LatencySummary {
  const sorted = requests
    .filter((r) => r.answeredAt !== null)
    .map((r) => r.answeredAt! - r.sentAt)
    .sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

/** "202", "409 SOLD_OUT", "no answer", ...: how answers are counted. */
export function statusKey(request: Pick<RecordedRequest, 'status' | 'code'>): string {
  if (request.status === 0) return 'no answer';
  return request.code ? `${request.status} ${request.code}` : String(request.status);
}
