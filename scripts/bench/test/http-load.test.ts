import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '@coupons/harness/load';
import { summarizeLoad } from '../src/http-load.ts';

const T0 = 1_000_000;
const answered = (i: number, latency: number, status = 202): RecordedRequest => ({
  userId: `u${i}`,
  couponCode: 'A0001',
  sentAt: T0 + i,
  answeredAt: T0 + i + latency,
  status,
});

describe('summarizeLoad', () => {
  it('takes the nearest-rank percentiles of the answered requests', () => {
    // Latencies 1..100 ms, sent 1 ms apart.
    const summary = summarizeLoad(Array.from({ length: 100 }, (_, i) => answered(i, i + 1)));
    expect(summary.latency).toMatchObject({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    // From the first send (T0) to the last answer (T0 + 99 + 100).
    expect(summary.durationMs).toBe(199);
    expect(summary.rps).toBeCloseTo((100 * 1000) / 199);
  });

  it('counts requests without an answer and 5xx apart, by status', () => {
    const records: RecordedRequest[] = [
      answered(0, 10),
      answered(1, 10, 409),
      answered(2, 10, 503),
      { userId: 'u3', couponCode: 'A0001', sentAt: T0 + 3, answeredAt: null, status: 0 },
    ];
    records[1]!.code = 'SOLD_OUT';
    const summary = summarizeLoad(records);
    expect(summary).toMatchObject({ requests: 4, answered: 3, unanswered: 1, serverErrors: 1 });
    expect(summary.statusCounts).toEqual({ '202': 1, '409 SOLD_OUT': 1, '503': 1, 'no answer': 1 });
    expect(summary.latency.count).toBe(3);
  });

  it('has no rate for a load that got no answer', () => {
    const summary = summarizeLoad([{ userId: 'u', couponCode: 'A0001', sentAt: T0, answeredAt: null, status: 0 }]);
    expect(summary).toMatchObject({ durationMs: 0, rps: 0, unanswered: 1 });
  });
});
