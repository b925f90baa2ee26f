// Pre-filling a queue exactly as the API would have left it: per ticket a ticket id from
// newTicketId(), the admission script (dedupe, arrival sequence, pending set, ticket hash) and
// the BullMQ job from issueJob(), as services/api/src/admission/admit-issue-request.ts does.
// The queue is paused first, so workers take nothing until the bench resumes it and starts its clock.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '@coupons/shared/db';
import { newTicketId } from '@coupons/shared/domain';
import { issueJob, type IssueJobData } from '@coupons/shared/queue';
import { couponScripts, ISSUE_QUEUE_NAME, queuePrefix } from '@coupons/shared/redis';
import { openUntouchedCoupon, type TestEnvironment } from '@coupons/shared/testing';

const CHUNK = 500; // the enqueuer's default ENQUEUE_MAX_BATCH

/** A coupon of the bench's own, open now, with the given limit. */
export async function insertBenchCoupon(db: Kysely<Database>, code: string, limit: number): Promise<void> {
  await db.insertInto('coupon').values({ id: uuidv7(), code, name: `bench ${code}`, discount_amount: 0, total_quantity: limit }).execute();
}

export interface BenchQueue {
  queue: Queue<IssueJobData>;
  /** Closes the queue and its connection. */
  close(): Promise<void>;
}

/** The environment's issue queue on its own connection, paused. */
export async function openPausedQueue(environment: TestEnvironment): Promise<BenchQueue> {
  const connection = new Redis(environment.config.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue<IssueJobData>(ISSUE_QUEUE_NAME, { connection, prefix: queuePrefix(environment.config.REDIS_PREFIX) });
  await queue.pause();
  return {
    queue,
    async close() {
      await queue.close();
      await connection.quit();
    },
  };
}

/** `count` admitted tickets of distinct users for `couponCode`, each with its job, in arrival order. */
export async function prefillAdmittedTickets(environment: TestEnvironment, queue: Queue<IssueJobData>, couponCode: string, count: number): Promise<void> {
  const { redis, config } = environment;
  const { total_quantity } = await environment.db.selectFrom('coupon').select('total_quantity').where('code', '=', couponCode).executeTakeFirstOrThrow();
  await openUntouchedCoupon(redis, config.REDIS_PREFIX, couponCode, total_quantity);
  for (let start = 0; start < count; start += CHUNK) {
    const size = Math.min(CHUNK, count - start);
    // Sequentially, so arrival sequence follows the order; the connection pipelines them anyway.
    const replies = [];
    for (let i = 0; i < size; i++) {
      replies.push(
        couponScripts(redis, config.REDIS_PREFIX).admit({
          couponCode,
          userId: randomUUID(),
          ticketId: newTicketId(couponCode),
          maxBacklog: Number.MAX_SAFE_INTEGER,
          startsAt: new Date(0),
          endsAt: null,
          decidedSeqFloor: 0,
        }),
      );
    }
    const admitted = (await Promise.all(replies)).map(({ outcome, ticketId, seq }) => {
      if (outcome !== 'admitted') throw new Error(`pre-fill: admission answered ${outcome}, not admitted`);
      return { ticketId, seq };
    });
    // One job per chunk, as an API's enqueuer batches a burst's admissions (issue-enqueuer.ts).
    const job = issueJob({ couponCode, ticketIds: admitted.map((a) => a.ticketId), maxSeq: admitted.at(-1)!.seq });
    await queue.add(job.name, job.data, job.opts);
  }
}

/** `count` jobs shaped like the issue jobs (same name and options; one ticket each), with no ticket behind them. */
export async function prefillJobs(queue: Queue<IssueJobData>, couponCode: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += CHUNK) {
    const size = Math.min(CHUNK, count - start);
    await queue.addBulk(Array.from({ length: size }, () => issueJob({ couponCode, ticketIds: [uuidv7()], maxSeq: 0 })));
  }
}
