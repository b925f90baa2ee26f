import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createLogger } from '@coupons/shared/runtime';
import { couponKeys, couponScripts, registerCommands, redisRefusal, ticketKey } from '@coupons/shared/redis';
import { requireReplicas, startRedisServer, waitFor, type RedisServer } from '@coupons/shared/testing';
import { withCouponLock } from '../src/lock/coupon-lock.ts';
import { distinctUsers, exactEvent, startLocalEvent, submitAll, verifyEvent, waitUntilAllFinal, type LocalEvent } from './event-harness.ts';

const LIMIT = 5;

/**
 * Redis refuses the write that makes a committed batch visible (resolve, after the Postgres
 * commit): nothing is lost, and the job's retry completes the tickets, exactly. Each on its own
 * redis-server, refusing for real (NOREPLICAS: min-replicas-to-write with no replica).
 */
describe('a Redis refusal during a drain is retried, and nothing is lost', () => {
  let redis: RedisServer;
  let event: LocalEvent;
  beforeAll(async () => {
    redis = await startRedisServer();
    event = await startLocalEvent({
      coupon: 'R0005',
      limit: LIMIT,
      workers: 1,
      // The pause after each commit is the window in which the test makes Redis refuse.
      env: { REDIS_URL: redis.url, BATCH_SIZE: '4', FAULT_DELAY_AFTER_COMMIT_MS: '1500', LOCK_LEASE_MS: '3000', STALLED_INTERVAL_MS: '500' },
    });
  });
  afterAll(async () => {
    await event.stop();
    await redis.close();
  });

  it('refused resolve after commit: the tickets stay queued, then the retry issues them exactly', async () => {
    const { env } = event;
    const keys = couponKeys(env.config.REDIS_PREFIX, 'R0005');
    const answered = await submitAll(event.baseUrl, 'R0005', distinctUsers(9), 1);
    expect(answered.every((a) => a.status === 202)).toBe(true);

    // A batch has committed in Postgres and its tickets are not resolved yet: the worker is in its pause.
    const committedUnresolved = async () => {
      const wallets = await env.db.selectFrom('coupon_wallet').select('id').execute();
      for (const { id } of wallets) if ((await env.redis.hget(ticketKey(env.config.REDIS_PREFIX, 'R0005', id), 'status')) === 'queued') return id;
      return undefined;
    };
    const ticketId = await waitFor(committedUnresolved, { intervalMs: 10, message: 'a committed batch not yet resolved' });
    const refusal = await requireReplicas(redis);
    const [worker] = event.processes.slice(1);
    try {
      // The drain ended (its lock release refused in turn) with the ticket unresolved: the resolve
      // after the commit was refused. Refused, not lost: the wallet is committed, the ticket waits.
      await worker!.waitForOutput(/lock release failed/);
      expect(await env.redis.hget(ticketKey(env.config.REDIS_PREFIX, 'R0005', ticketId), 'status')).toBe('queued');
      expect(await env.redis.zscore(keys.pending, ticketId)).not.toBeNull();
    } finally {
      await refusal.undo();
    }

    const finalStatus = await waitUntilAllFinal(event, answered);
    expect(finalStatus.get(ticketId)).toBe('issued');
    expect(await verifyEvent(event, 'R0005', answered, finalStatus)).toEqual(exactEvent(LIMIT));
    expect(worker!.child.exitCode).toBeNull();
  });
});

describe('a refused lock renewal', () => {
  let redis: RedisServer;
  let client: ReturnType<typeof registerCommands<Redis>>;
  beforeAll(async () => {
    redis = await startRedisServer();
    client = registerCommands(new Redis(redis.url, { maxRetriesPerRequest: 1 }));
    client.on('error', () => {});
  });
  afterAll(async () => {
    client.disconnect();
    await redis.close();
  });

  it('stops the holder from starting batches in time, without calling the lock lost', async () => {
    const leaseMs = 900;
    const result = await withCouponLock(couponScripts(client, 'refusal-test'), 'L0001', leaseMs, createLogger('lock-test', 'silent'), async (lease) => {
      expect(lease.canStartBatch()).toBe(true);
      const refusal = await requireReplicas(redis);
      try {
        // Renewals are refused now: the lease runs down from the last renewal that succeeded.
        await waitFor(() => !lease.canStartBatch(), { timeoutMs: leaseMs * 2, intervalMs: 20, message: 'the lease to run short' });
        expect(lease.lost).toBe(false);
        expect(redisRefusal(await lease.stillHeld().catch((error: Error) => error))).toBe('NOREPLICAS');
      } finally {
        await refusal.undo();
      }
      return 'done';
    });
    expect(result).toEqual({ ran: true, value: 'done' });
  });
});
