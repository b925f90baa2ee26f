import { createLogger, type Logger } from './logger.ts';
import { describeStartupError } from './startup-error.ts';

/**
 * Runs a process's start-up. Anything that fails here (bad variable, unreachable Redis or
 * Postgres) ends the process with exit code 1 and one line on stderr saying what to fix;
 * the stack goes to the debug log only.
 */
export async function runMain(name: string, start: (log: Logger) => Promise<void>): Promise<void> {
  const log = createLogger(name);
  try {
    await start(log);
  } catch (error) {
    log.debug({ err: error }, 'start-up failed');
    process.stderr.write(`${name}: ${describeStartupError(error)}\n`);
    process.exit(1);
  }
}

/**
 * Calls `shutdown` once on the first SIGTERM or SIGINT; a second signal, or the deadline,
 * exits at once so a stuck dependency never keeps a pod from terminating.
 */
export function onShutdownSignal(log: Logger, timeoutMs: number, shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      log.error({ timeoutMs }, 'graceful shutdown timed out: exiting');
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
