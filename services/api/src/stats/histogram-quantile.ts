/**
 * A quantile of a Prometheus-style histogram, as PromQL's histogram_quantile computes it: find
 * the bucket holding the q-th observation and interpolate linearly inside it (the first bucket
 * starts at 0). The answer is only as fine as the buckets; one in the +Inf bucket is reported as
 * the last finite bound. Undefined when nothing was observed.
 *
 * @param le the buckets' upper bounds, ascending (the last may be huge: +Inf).
 * @param cumulative the count of observations ≤ each bound (non-decreasing).
 */
export function histogramQuantile(q: number, le: readonly number[], cumulative: readonly number[]): number | undefined {
  const total = cumulative.at(-1) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < le.length; i++) {
    if (cumulative[i]! < rank) continue;
    const upper = le[i]!;
    const lower = i === 0 ? 0 : le[i - 1]!;
    // The +Inf bucket has no upper bound to interpolate towards: the last finite one is the answer.
    if (!Number.isFinite(upper) || upper >= Number.MAX_VALUE) return lower;
    const below = i === 0 ? 0 : cumulative[i - 1]!;
    const inBucket = cumulative[i]! - below;
    return inBucket === 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
  }
  return le.at(-2);
}
