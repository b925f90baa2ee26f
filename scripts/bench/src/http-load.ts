// Every HTTP figure goes through the burst's load generator (autocannon, one distinct
// X-User-Id per request, send and answer times per request) with the same settings.
import { planRequests, runLoad, type RecordedRequest } from '@coupons/harness/load';
import type { ClientIdentity } from '@coupons/harness/identity';
import { formatCount, type ProgressTicker, type Teardown } from '@coupons/harness/cli';
import { statusKey, summarizeLatency, type LatencySummary } from '@coupons/harness/verify';

export interface LoadSummary {
  requests: number;
  answered: number;
  /** No answer at all: refused, reset or timed out. */
  unanswered: number;
  /** 5xx answers. */
  serverErrors: number;
  /** "202", "409 SOLD_OUT", "no answer", ... → count. */
  statusCounts: Record<string, number>;
  /** From the first request sent to the last answer. */
  durationMs: number;
  /** Answers per second over `durationMs`. */
  rps: number;
  latency: LatencySummary;
  /** When measured several times: every run's answers/s (this object is the best run). */
  repeats?: number[];
}

/** What one load saw, from its per-request records. Pure. */
export function summarizeLoad(records: readonly RecordedRequest[]): LoadSummary {
  const statusCounts: Record<string, number> = {};
  let firstSent = Infinity;
  let lastAnswer = -Infinity;
  let answered = 0;
  let serverErrors = 0;
  for (const record of records) {
    const key = statusKey(record);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
    firstSent = Math.min(firstSent, record.sentAt);
    if (record.answeredAt === null) continue;
    answered++;
    lastAnswer = Math.max(lastAnswer, record.answeredAt);
    if (record.status >= 500) serverErrors++;
  }
  const durationMs = answered > 0 ? lastAnswer - firstSent : 0;
  return {
    requests: records.length,
    answered,
    unanswered: records.length - answered,
    serverErrors,
    statusCounts,
    durationMs,
    rps: durationMs > 0 ? (answered * 1000) / durationMs : 0,
    latency: summarizeLatency(records),
  };
}

export interface LoadTarget {
  url: string;
  couponCode: string;
  /** Who each request says it is (default: X-User-Id as is); jwt tokens are minted before the load starts. */
  identity?: ClientIdentity;
  /** Called once the users' tokens are minted, right before the first request: where a measurement starts. */
  onStart?: () => void;
  /** Gets every request's record once the load is over (the cost phase polls the tickets). */
  onRecords?: (records: readonly RecordedRequest[]) => void;
}

export interface LoadSettings {
  connections: number;
  timeoutSeconds: number;
  progress: ProgressTicker;
  teardown: Teardown;
}

/** `count` issue requests for one coupon, each from a new user; resolves when every one is answered or timed out. */
export async function sendIssueRequests(label: string, target: LoadTarget, count: number, settings: LoadSettings): Promise<LoadSummary> {
  const plan = planRequests([{ code: target.couponCode, users: count }], count);
  await target.identity?.prepare(plan.map((request) => request.userId));
  target.onStart?.();
  const load = runLoad(plan, { urls: [target.url], connections: Math.min(settings.connections, count), timeoutSeconds: settings.timeoutSeconds, identity: target.identity });
  const stop = settings.teardown.add(load.stop);
  const started = Date.now();
  let lastAnswered = 0;
  settings.progress.phase(() => {
    const { answered } = load.progress();
    const rate = answered - lastAnswered;
    lastAnswered = answered;
    return `${label}: ${formatCount(answered)} / ${formatCount(count)} answered (${formatCount(rate)}/s, ${((Date.now() - started) / 1000).toFixed(0)} s)`;
  });
  try {
    const records = await load.done;
    target.onRecords?.(records);
    return summarizeLoad(records);
  } finally {
    settings.progress.stop();
    await stop(); // a finished autocannon ignores it; this drops it from what Ctrl-C undoes
  }
}
