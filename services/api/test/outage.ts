import { afterAll, beforeAll, expect } from 'vitest';
import { testDatabaseUrl, testRedisUrl, waitFor } from '@coupons/shared/testing';
import type { TestApi } from './api-harness.ts';
import { expectRetryLater, get, useBeforeAll, type Reply } from './helpers.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/** A TCP proxy to the test servers' Redis or Postgres (wherever they listen: 6379/5432, or embedded ones) for the file's tests. */
export const useTcpProxy = (service: 'redis' | 'postgres'): TcpProxy =>
  useBeforeAll(() => startTcpProxy(Number(new URL(service === 'redis' ? testRedisUrl() : testDatabaseUrl()).port) || (service === 'redis' ? 6379 : 5432)), (proxy) => proxy.close());

/**
 * Inside a describe: the outage begins before its tests, and after them the service is back
 * and the API ready again, so the next describe starts from a healthy system.
 */
export function duringOutage(t: TestApi, proxy: TcpProxy, begin: () => void | Promise<void>): void {
  beforeAll(async () => {
    await begin();
  });
  afterAll(async () => {
    await proxy.restore();
    await waitUntilReady(t);
  });
}

export async function waitUntilReady(t: TestApi): Promise<void> {
  await waitFor(async () => (await get(t, '/readyz')).status === 200, { message: '/readyz to answer 200' });
}

/** Never a 500, never a hang: 503 UNAVAILABLE with Retry-After, and in good time. */
export async function expectUnavailableWithin(request: Promise<Reply>, ms: number): Promise<void> {
  const started = performance.now();
  const res = await request;
  expectRetryLater(res, 'UNAVAILABLE');
  expect(performance.now() - started).toBeLessThan(ms);
}
