// Batched enqueue: a group commit per coupon. BullMQ's bookkeeping costs Redis about 120 µs of
// CPU per job (add, move to active, complete, events), whatever the job carries, so one job per
// admitted ticket made BullMQ most of Redis's work. Here each API process keeps, per coupon, at
// most one add in flight: tickets admitted meanwhile join the next job, which is added as soon as
// the previous one exists. At low load a batch is one ticket (no added latency); in a burst,
// batches grow to whatever arrived during one add (up to maxBatch). Every request's 202 still
// waits until the job carrying its ticket exists; if the add fails, every request of the batch
// gets the failure (a 503), and their tickets stay admitted for the reconciler. A coupon's jobs go
// to its shard of the issue queue (QUEUE_SHARDS; packages/shared/src/queue/queue-shard.ts).
import { issueJob, type IssueQueues } from '@coupons/shared/queue';
import type { CouponScripts } from '@coupons/shared/redis';

interface Batch {
  /** Set when its add starts: from then on, new tickets go to the next batch. */
  sealed: boolean;
  ticketIds: string[];
  maxSeq: number;
  done: Promise<void>;
  settle(error?: unknown): void;
}

/** One coupon's line of batches: the first is being added (or about to be), the last takes new tickets. */
interface CouponLine {
  batches: Batch[];
  /** An add is scheduled or in flight. */
  busy: boolean;
}

export interface EnqueuerOptions {
  /** The most tickets one job carries. */
  maxBatch: number;
  /** How long the first ticket of an idle coupon waits for company before its job is added (0: the next turn of the event loop). */
  windowMs: number;
}

function newBatch(): Batch {
  let settle!: Batch['settle'];
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  return { sealed: false, ticketIds: [], maxSeq: 0, done, settle };
}

export class IssueEnqueuer {
  private readonly lines = new Map<string, CouponLine>();

  constructor(
    private readonly queues: IssueQueues,
    private readonly scripts: CouponScripts,
    private readonly options: EnqueuerOptions,
  ) {}

  /** Resolves once a job carrying `ticketId` exists (rejects with the add's error). */
  enqueue(couponCode: string, ticketId: string, seq: number): Promise<void> {
    let line = this.lines.get(couponCode);
    if (!line) {
      line = { batches: [], busy: false };
      this.lines.set(couponCode, line);
    }
    let batch = line.batches.at(-1);
    // A batch whose add has started takes no more tickets; a full one neither.
    if (!batch || batch.sealed || batch.ticketIds.length >= this.options.maxBatch) {
      batch = newBatch();
      line.batches.push(batch);
    }
    batch.ticketIds.push(ticketId);
    batch.maxSeq = Math.max(batch.maxSeq, seq);
    if (!line.busy) this.schedule(couponCode, line);
    return batch.done;
  }

  private schedule(couponCode: string, line: CouponLine): void {
    line.busy = true;
    const flush = () => void this.flush(couponCode, line);
    if (this.options.windowMs > 0) setTimeout(flush, this.options.windowMs);
    else setImmediate(flush);
  }

  private async flush(couponCode: string, line: CouponLine): Promise<void> {
    const batch = line.batches[0]!;
    batch.sealed = true;
    try {
      const job = issueJob({ couponCode, ticketIds: batch.ticketIds, maxSeq: batch.maxSeq });
      await this.queues.forCoupon(couponCode).add(job.name, job.data, job.opts);
      batch.settle();
      // For the reconciler (see CouponKeys.enqueued), off the line's critical path. Best effort:
      // if it fails, the reconciler gives these tickets a second job, which is harmless.
      void this.scripts.markEnqueued(couponCode, batch.maxSeq).catch(() => {});
    } catch (error) {
      batch.settle(error);
    } finally {
      line.batches.shift();
      line.busy = false;
      // The next batch filled while this one was added: it goes at once (no window: it already waited).
      if (line.batches.length > 0) {
        line.busy = true;
        setImmediate(() => void this.flush(couponCode, line));
      } else this.lines.delete(couponCode);
    }
  }
}
