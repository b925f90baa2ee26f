// What the services said, as data: their pino lines (JSON, one per event, with `time`) are how a
// scenario learns when a worker paused in a batch, decided a batch, was fenced out or rebuilt the
// fast path — and so how long recovery took, measured on the services' own clock.
import type { ServiceProcess } from '@coupons/harness/processes';
import type { ChaosService } from './cluster.ts';

export interface LogEvent {
  service: string;
  /** Epoch ms (pino's `time`). */
  time: number;
  msg: string;
  coupon?: string;
  fence?: number;
  /** Why a heal ran ("fast-path state rebuilt from Postgres": missing, stale, behind). */
  why?: string;
  level: number;
}

/** Each process's events parsed so far, and how much of its output that covers (outputs only grow). */
const parsed = new WeakMap<ServiceProcess, { offset: number; events: Omit<LogEvent, 'service'>[] }>();

function eventsOf(process: ServiceProcess): Omit<LogEvent, 'service'>[] {
  const cache = parsed.get(process) ?? { offset: 0, events: [] };
  parsed.set(process, cache);
  const output = process.output();
  const end = output.lastIndexOf('\n') + 1; // a line still being written waits for its newline
  for (const line of output.slice(cache.offset, end).split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const event = JSON.parse(line) as { time: number; msg: string; coupon?: string; fence?: number; why?: string; level: number };
      cache.events.push({ time: event.time, msg: event.msg, coupon: event.coupon, fence: event.fence, ...(event.why !== undefined && { why: event.why }), level: event.level });
    } catch {
      // a line cut in the middle by a kill: not an event
    }
  }
  cache.offset = Math.max(cache.offset, end);
  return cache.events;
}

/** The services' events whose message matches `msg`, oldest first. */
export function logEvents(services: readonly ChaosService[], msg: RegExp): LogEvent[] {
  return services
    .flatMap(({ name, process }) => eventsOf(process).filter((event) => msg.test(event.msg)).map((event) => ({ ...event, service: name })))
    .sort((a, b) => a.time - b.time);
}

export const BATCH_DECIDED = /^batch decided$/;
export const PAUSING_BEFORE_COMMIT = /^fault injection: pausing before commit$/;
export const PAUSING_AFTER_COMMIT = /^fault injection: pausing after commit$/;
export const FENCED_OUT = /^fenced out: lease expired under us, batch not written$/;
export const FAST_PATH_REBUILT = /^fast-path state rebuilt from Postgres$/;

/** The first event at or after `since` (optionally for one coupon, or not from one service). */
export function firstEventAfter(
  services: readonly ChaosService[],
  msg: RegExp,
  since: number,
  filter: { coupon?: string; notService?: string } = {},
): LogEvent | undefined {
  return logEvents(services, msg).find(
    (event) => event.time >= since && (filter.coupon === undefined || event.coupon === filter.coupon) && event.service !== filter.notService,
  );
}

/** The last lines of a service's output (evidence for a report). */
export function lastLines(service: ChaosService, count = 5): string[] {
  return service.process.output().trim().split('\n').slice(-count);
}

/** WARN-or-worse events (pino level >= 40) grouped by message, with the services that logged them. */
export function warningsByMessage(services: readonly ChaosService[]): { message: string; count: number; services: string[] }[] {
  const groups = new Map<string, { count: number; services: Set<string> }>();
  for (const event of logEvents(services, /./)) {
    if (event.level < 40) continue;
    const group = groups.get(event.msg) ?? { count: 0, services: new Set<string>() };
    group.count++;
    group.services.add(event.service);
    groups.set(event.msg, group);
  }
  return [...groups].map(([message, { count, services: names }]) => ({ message, count, services: [...names] })).sort((a, b) => b.count - a.count);
}
