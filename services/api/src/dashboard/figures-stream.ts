import type { Request, Response } from 'express';
import type { FiguresAggregator } from '../stats/figures-aggregator.ts';
import type { DashboardSession } from './dashboard-sessions.ts';

/** One server-sent event; `data` is one line of JSON (JSON.stringify never writes a newline). */
function event(name: string, data: unknown, id?: number): string {
  return `event: ${name}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

/**
 * GET /dashboard/stream: `history` (the charts' last minutes) at once, then `figures` every
 * second (or `unavailable` while Redis or Postgres cannot be read), until the client leaves or
 * its session expires (then `signed-out`, and the page shows the sign-in form). Every viewer
 * shares the one aggregator of this process.
 */
export function streamFigures(req: Request, res: Response, figures: FiguresAggregator, session: DashboardSession): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    // A proxy (ingress-nginx, a port-forward through one) must pass each event on at once.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 2000\n\n');
  res.write(event('history', figures.history()));
  if (figures.latest) res.write(event('figures', figures.latest, figures.latest.at));

  const unsubscribe = figures.subscribe((tick) => {
    if (Date.now() >= session.expiresAt) {
      res.end(event('signed-out', { reason: 'The session expired.' }));
      return;
    }
    if ('unavailable' in tick) res.write(event('unavailable', tick, tick.at));
    else res.write(event('figures', tick, tick.at));
  });
  const stop = () => unsubscribe();
  req.on('close', stop);
  res.on('close', stop);
}
