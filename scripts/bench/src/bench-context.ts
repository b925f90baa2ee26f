import type { CliContext } from '@coupons/harness/cli';
import type { ClientIdentity } from '@coupons/harness/identity';
import { createTestEnvironment, type TestEnvironment } from '@coupons/shared/testing';
import type { BenchOptions } from './cli-args.ts';
import type { LoadSettings } from './http-load.ts';

/** What every phase gets: the options, a log line on stderr, the progress line, what to undo. */
export interface BenchContext extends CliContext {
  options: BenchOptions;
  /** How P1's API and the seed scenario's requests identify their users (--auth; default X-User-Id as is). */
  identity?: ClientIdentity;
}

export function loadSettings(ctx: BenchContext): LoadSettings {
  return { connections: ctx.options.connections, timeoutSeconds: ctx.options.requestTimeoutSeconds, progress: ctx.progress, teardown: ctx.teardown };
}

/** A fresh database and Redis prefix (removed on `cleanup`, or on Ctrl-C), announced in the log. */
export async function createBenchEnvironment(ctx: BenchContext): Promise<{ environment: TestEnvironment; cleanup: () => Promise<void> }> {
  const environment = await createTestEnvironment();
  const cleanup = ctx.teardown.add(() => environment.cleanup());
  ctx.log(`database ${new URL(environment.config.DATABASE_URL).pathname.slice(1)}, Redis prefix ${environment.config.REDIS_PREFIX}`);
  return { environment, cleanup };
}
