// What one API replica tells the others about itself, about once a second (snapshot-publisher.ts):
// its own counters, read from its prom-client metrics (metrics/metrics.ts), so a request costs no
// Redis command of its own for the dashboard.
import { z } from 'zod';
import type { ApiMetrics } from '../metrics/metrics.ts';

/** The route label of the issue request in http_request_duration_seconds: its latency is the accept latency. */
export const ACCEPT_ROUTE = '/v1/coupons/:code/issue-requests';

export const replicaSnapshotSchema = z.object({
  /** The replica's random id for this process's life. */
  replica: z.string(),
  /** When the process started publishing (ms since the epoch): its counters count from about then. */
  startedAt: z.number(),
  /** When it was taken (ms since the epoch, the replica's clock). */
  at: z.number(),
  /** Issue requests since the process started, by coupon and admission outcome (coupon_admissions_total). */
  admissions: z.record(z.string(), z.record(z.string(), z.number())),
  /** The accept latency histogram since the process started: cumulative counts per upper bound (seconds, last +Inf). */
  accept: z.object({ le: z.array(z.number()), counts: z.array(z.number()) }),
});

export type ReplicaSnapshot = z.infer<typeof replicaSnapshotSchema>;

/** The replica's counters now, from its Prometheus registry (the figures /metrics shows). */
export async function takeSnapshot(metrics: ApiMetrics, replica: string, startedAt: number, at: number): Promise<ReplicaSnapshot> {
  const [admissionValues, durationValues] = await Promise.all([metrics.admissions.get(), metrics.httpDuration.get()]);
  const admissions: ReplicaSnapshot['admissions'] = {};
  for (const { labels, value } of admissionValues.values) {
    const coupon = String(labels.coupon);
    const outcome = String(labels.outcome);
    (admissions[coupon] ??= {})[outcome] = (admissions[coupon][outcome] ?? 0) + value;
  }
  const buckets = durationValues.values
    .map((v) => ({ name: v.metricName, labels: v.labels as Record<string, string | number | undefined>, count: v.value }))
    .filter((v) => v.name?.endsWith('_bucket') && v.labels.route === ACCEPT_ROUTE)
    .map((v) => ({ le: v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le), count: v.count }))
    .sort((a, b) => a.le - b.le);
  // JSON has no Infinity: the last bound is written as a very large number and read back as such.
  return {
    replica,
    startedAt,
    at,
    admissions,
    accept: { le: buckets.map((b) => (Number.isFinite(b.le) ? b.le : Number.MAX_VALUE)), counts: buckets.map((b) => b.count) },
  };
}
