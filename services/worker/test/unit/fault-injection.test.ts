import { describe, expect, it } from 'vitest';
import { faultInjectionHooks } from '../../src/fault-injection.ts';
import { capturingLogger } from './in-process-harness.ts';

describe('faultInjectionHooks', () => {
  it('installs no hooks when no FAULT_* delay is set (a production worker)', () => {
    const { log } = capturingLogger();
    expect(faultInjectionHooks({ FAULT_DELAY_BEFORE_COMMIT_MS: 0, FAULT_DELAY_AFTER_COMMIT_MS: 0 }, log)).toBeUndefined();
  });

  it('installs only the hooks whose delay is set; each pauses that long and announces it in the log', async () => {
    const logs = capturingLogger();
    const hooks = faultInjectionHooks({ FAULT_DELAY_BEFORE_COMMIT_MS: 0, FAULT_DELAY_AFTER_COMMIT_MS: 50 }, logs.log);
    expect(hooks?.beforeCommit).toBeUndefined();
    const startedAt = Date.now();
    await hooks!.afterCommit!({ couponCode: 'FI0001', fence: 7 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45);
    expect(logs.messages('fault injection: pausing after commit')).toEqual([expect.objectContaining({ coupon: 'FI0001', fence: 7, ms: 50 })]);
  });
});
