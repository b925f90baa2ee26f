import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** JSON logs on stdout, one line per event, named after the process role. */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL || 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
