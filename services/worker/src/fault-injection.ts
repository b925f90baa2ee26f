import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '@coupons/shared/config';
import type { BatchHooks, BatchPoint } from './worker-deps.ts';

/** The config values that turn fault injection on (`FAULT_*`, set through the environment by the process tests and `pnpm chaos`). */
export type FaultInjectionConfig = Pick<Config, 'FAULT_DELAY_BEFORE_COMMIT_MS' | 'FAULT_DELAY_AFTER_COMMIT_MS'>;

/**
 * The batch hooks for fault injection: a pause before a batch's transaction and/or between its
 * commit and the resolve in Redis, each announced in the log (`fault injection: pausing …`,
 * which the tests and chaos scenarios wait for). Returns undefined when no delay is set, so a
 * production worker runs without hooks. Only main.ts (and tests) call this; the drain loop
 * never reads `FAULT_*`.
 */
export function faultInjectionHooks(config: FaultInjectionConfig, log: Logger): BatchHooks | undefined {
  const pause = (ms: number, where: string) => async ({ couponCode, fence }: BatchPoint) => {
    log.warn({ coupon: couponCode, fence, ms }, `fault injection: pausing ${where}`);
    await delay(ms);
  };
  const hooks: BatchHooks = {};
  if (config.FAULT_DELAY_BEFORE_COMMIT_MS > 0) hooks.beforeCommit = pause(config.FAULT_DELAY_BEFORE_COMMIT_MS, 'before commit');
  if (config.FAULT_DELAY_AFTER_COMMIT_MS > 0) hooks.afterCommit = pause(config.FAULT_DELAY_AFTER_COMMIT_MS, 'after commit');
  return hooks.beforeCommit || hooks.afterCommit ? hooks : undefined;
}
