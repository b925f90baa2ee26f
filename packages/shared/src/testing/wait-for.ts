import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits until `condition` returns a truthy value, checking every `intervalMs`, and fails with
 * `message` (and the last value seen) after `timeoutMs`. Tests synchronise on conditions, not sleeps.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 50, message = 'condition' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await condition();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message} (last: ${JSON.stringify(last)})`);
    await delay(intervalMs);
  }
}
