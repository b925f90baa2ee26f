// The burst load: autocannon sends the planned POSTs, each as its own user (X-User-Id, or the
// identity's token or signature), and we
// record per request when it was sent (setupRequest) and when and how it was answered (onResponse).
import autocannon from 'autocannon';
import { now, parseAnswer, type RecordedRequest } from './recorded-request.ts';
import type { PlannedRequest } from './plan.ts';
import { trustedHeaderIdentity, type ClientIdentity } from '../identity/index.ts';

export interface LoadOptions {
  /** API base URLs; autocannon deals connections out over them round-robin. */
  urls: string[];
  connections: number;
  timeoutSeconds: number;
  /** Requests per second over all connections; unset: as fast as answers come back. */
  overallRate?: number;
  /** Who each request says it is (default: X-User-Id as is). A jwt identity must have been prepare()d with the plan's users. */
  identity?: ClientIdentity;
  /** Called as each answer is recorded (burst --sse follows each ticket from its 202 on). */
  onAnswer?: (record: RecordedRequest) => void;
  /**
   * Seconds after which no further planned request is sent (the rest of the plan is dropped);
   * the requests in flight are still answered and recorded, so the run stays verifiable.
   */
  maxSeconds?: number;
}

export interface LoadProgress {
  sent: number;
  answered: number;
  /** Whether maxSeconds passed and the rest of the plan was dropped. */
  cutOff: boolean;
}

/**
 * What a connection sends once the plan is cut off, until the POSTs in flight are answered:
 * autocannon keeps every connection busy until it is stopped, and stopping at once would
 * abandon those POSTs (admitted or not, nobody would know). Cheap and never recorded.
 */
const FILLER_PATH = '/healthz';

/** Per-connection autocannon context: which planned request is in flight on it. */
interface InFlight {
  index?: number;
}

/**
 * Sends `plan` in order (each connection takes the next planned request when it is free) and
 * resolves with one record per planned request. `stop()` ends it early (Ctrl-C).
 */
export function runLoad(plan: readonly PlannedRequest[], options: LoadOptions): {
  done: Promise<RecordedRequest[]>;
  progress(): LoadProgress;
  stop(): void;
} {
  const records: RecordedRequest[] = [];
  const identity = options.identity ?? trustedHeaderIdentity;
  let answered = 0;
  let cutOff = false;
  let finish: (error: Error | null) => void = () => {};
  const done = new Promise<RecordedRequest[]>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve(records));
  });
  let cutOffTimer: NodeJS.Timeout | undefined;
  let stragglerTimer: NodeJS.Timeout | undefined;
  void done.finally(() => [cutOffTimer, stragglerTimer].forEach((timer) => clearTimeout(timer))).catch(() => {});
  /** After the cut-off: stop once every POST sent has its answer. */
  const stopWhenAnswered = () => cutOff && answered === records.length && instance.stop();
  const instance = autocannon({
    // Several URLs are allowed at run time (connection i goes to url i mod n); the types say string.
    url: options.urls as unknown as string,
    connections: options.connections,
    amount: plan.length,
    timeout: options.timeoutSeconds,
    ...(options.overallRate && { overallRate: options.overallRate }),
    method: 'POST',
    requests: [
      {
        // Called right before each request is written (for a connection's first request: as it
        // connects). autocannon sends exactly `amount` requests, so the plan never runs out.
        setupRequest(request, context) {
          if (cutOff) {
            (context as InFlight).index = undefined;
            return { ...request, method: 'GET', path: FILLER_PATH, headers: {} };
          }
          const planned = plan[records.length]!;
          (context as InFlight).index = records.length;
          records.push({ userId: planned.userId, couponCode: planned.couponCode, sentAt: now(), answeredAt: null, status: 0 });
          return {
            ...request,
            method: 'POST',
            path: `/v1/coupons/${planned.couponCode}/issue-requests`,
            headers: { ...request.headers, ...identity.headers(planned.userId) },
          };
        },
        onResponse(status, body, context) {
          const index = (context as InFlight).index;
          if (index === undefined) return void stopWhenAnswered(); // a filler
          const record = records[index]!;
          record.answeredAt = now();
          record.status = status;
          Object.assign(record, parseAnswer(body));
          answered++;
          options.onAnswer?.(record);
          stopWhenAnswered();
        },
      },
    ],
  }, (error) => finish(error ?? null));
  if (options.maxSeconds !== undefined && options.maxSeconds > 0) {
    cutOffTimer = setTimeout(() => {
      cutOff = true;
      stopWhenAnswered();
      // A POST that never answers is autocannon's timeout: after it, stop regardless (that one stays unanswered).
      stragglerTimer = setTimeout(() => instance.stop(), (options.timeoutSeconds + 1) * 1000);
    }, options.maxSeconds * 1000);
  }
  return {
    done,
    progress: () => ({ sent: records.length, answered, cutOff }),
    stop: () => instance.stop(),
  };
}
