import { findCouponByCode, walletsOfCoupon } from '@coupons/shared/db';
import type { CouponKeys } from '@coupons/shared/redis';
import type { WorkerDeps } from '../worker-deps.ts';

const CHUNK = 1_000;

/**
 * Makes the coupon's Redis fast-path state agree with Postgres, if it is missing.
 *
 * Redis may lose data (a restart without persistence, an everysec AOF's last second, keys
 * deleted by hand). Postgres constraints already make over-issuance and double issuance
 * impossible; this restores the *fast path*: the fencing counter is raised to the token
 * Postgres last accepted (else every batch would be refused), and when the coupon's meta is
 * gone, the wallets become tickets again (issued, so their users' resubmissions get 200),
 * the per-user dedupe is refilled, and issued/soldOut are copied from Postgres.
 *
 * Runs under the coupon lock, before every batch (one EXISTS when nothing is missing).
 * Returns whether anything was rebuilt.
 */
export async function rebuildFastPathIfMissing(deps: WorkerDeps, couponCode: string, keys: CouponKeys): Promise<boolean> {
  const { redis, db, config, log } = deps;
  if ((await redis.exists(keys.meta)) === 1) return false;
  const coupon = await findCouponByCode(db, couponCode);
  if (!coupon) return false;
  await redis.raiseFenceFloor(keys.fence, coupon.lock_fence);

  const startedAt = Date.now();
  const wallets = await walletsOfCoupon(db, coupon.id);
  for (let offset = 0; offset < wallets.length; offset += CHUNK) {
    const chunk = wallets.slice(offset, offset + CHUNK);
    // A ticket counts as present only whole (with its user): a partial hash is rewritten.
    const present = await Promise.all(chunk.map((wallet) => redis.hexists(`${keys.ticketPrefix}${wallet.id}`, 'user')));
    const pipeline = redis.pipeline();
    chunk.forEach((wallet, i) => {
      pipeline.hsetnx(keys.users, wallet.user_id, wallet.id);
      if (present[i]) return;
      const ticket = `${keys.ticketPrefix}${wallet.id}`;
      const issuedAt = wallet.issued_at.getTime();
      pipeline.hset(ticket, {
        coupon: couponCode,
        user: wallet.user_id,
        seq: 0,
        status: 'issued',
        walletId: wallet.id,
        issuedAt,
        createdAt: issuedAt,
      });
      pipeline.expire(ticket, config.TICKET_TTL_SECONDS);
    });
    await pipeline.exec();
  }
  // meta last: its presence means the rebuild is complete.
  await redis.hset(keys.meta, {
    total: coupon.total_quantity,
    issued: coupon.issued_quantity,
    soldOut: coupon.issued_quantity >= coupon.total_quantity ? '1' : '0',
  });
  log.info({ coupon: couponCode, wallets: wallets.length, ms: Date.now() - startedAt }, 'fast-path state rebuilt from Postgres');
  return true;
}
