// GET /dashboard on the operations port (DESIGN.md "Operating an event"): the sign-in form or the
// live page, its static files (no build step: an HTML page, an ES module, a stylesheet), uPlot from
// the project's own node_modules (never a CDN), the session routes and the figures' stream.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import type { AdminTokens } from '../admin/admin-tokens.ts';
import { HttpError } from '../errors/http-error.ts';
import { sendProblem } from '../errors/problem-middleware.ts';
import { apiRouter } from '../http/api-router.ts';
import { dashboardHeaders } from '../http/response-headers.ts';
import type { FiguresAggregator } from '../stats/figures-aggregator.ts';
import { requireSameOrigin, type DashboardSession, type DashboardSessions } from './dashboard-sessions.ts';
import { streamFigures } from './figures-stream.ts';

export interface DashboardDeps {
  tokens: AdminTokens;
  sessions: DashboardSessions;
  figures: FiguresAggregator;
}

const PUBLIC_DIR = join(import.meta.dirname, 'public');
/** uPlot's dist folder in node_modules (a dependency of this package: served as installed). */
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

/** The page's own files, and uPlot's two, by the name the page asks for. */
const ASSETS: Record<string, { dir: string; file: string }> = {
  'dashboard.js': { dir: PUBLIC_DIR, file: 'dashboard.js' },
  'dashboard.css': { dir: PUBLIC_DIR, file: 'dashboard.css' },
  'favicon.svg': { dir: PUBLIC_DIR, file: 'favicon.svg' },
  'uPlot.esm.js': { dir: UPLOT_DIR, file: 'uPlot.esm.js' },
  'uPlot.min.css': { dir: UPLOT_DIR, file: 'uPlot.min.css' },
};

const DASHBOARD_PAGE = readFileSync(join(PUBLIC_DIR, 'dashboard.html'), 'utf8');
const SIGN_IN_PAGE = readFileSync(join(PUBLIC_DIR, 'sign-in.html'), 'utf8');
/** The sign-in page after a refused token: fixed text, nothing of the request is echoed. */
const SIGN_IN_REFUSED = SIGN_IN_PAGE.replace('<!--message-->', '<p class="error" role="alert">That is not an admin token.</p>');

/** The session's figures for the page's script: never the token, only its id. */
const sessionBody = (session: DashboardSession) => ({ tokenId: session.tokenId, expiresAt: new Date(session.expiresAt).toISOString(), csrfToken: session.csrfToken });

/** A form post (the sign-in page without script) gets pages back; anything else gets JSON. */
const isFormPost = (req: Request): boolean => req.is('application/x-www-form-urlencoded') === 'application/x-www-form-urlencoded';

function sendPage(res: Response, status: number, html: string): void {
  res.status(status).type('html').setHeader('Cache-Control', 'no-store');
  res.send(html);
}

/** Only served when ADMIN_TOKEN is configured (app.ts): without it there is nobody to sign in. */
export function dashboardRouter({ tokens, sessions, figures }: DashboardDeps): Router {
  const router = apiRouter();
  router.use('/dashboard', dashboardHeaders);

  router.get('/dashboard', (req, res) => {
    sendPage(res, 200, sessions.read(req) ? DASHBOARD_PAGE : SIGN_IN_PAGE);
  });

  router.get('/dashboard/assets/:name', (req, res, next) => {
    const asset = Object.hasOwn(ASSETS, req.params.name) ? ASSETS[req.params.name] : undefined;
    if (!asset) return next();
    // `root`: the dot-folders of the install path (node_modules/.pnpm) are ours, not the request's.
    res.sendFile(asset.file, { root: asset.dir, maxAge: 0, headers: { 'Cache-Control': 'no-cache' } });
  });

  // Sign-in: the admin token once, in the body (a form post or JSON), never in a URL.
  const bodies = [express.urlencoded({ extended: false, limit: '4kb' }), express.json({ limit: '4kb' })];
  router.post('/dashboard/session', ...bodies, (req, res) => {
    const form = isFormPost(req);
    // A token in a query string would sit in browser history, proxy logs and Referer headers.
    if (Object.keys(req.query).length > 0 || req.originalUrl.includes('?')) {
      throw new HttpError('BAD_REQUEST', 'The admin token goes in the request body, never in the URL.');
    }
    requireSameOrigin(req);
    const token = (req.body as { token?: unknown } | undefined)?.token;
    const identity = typeof token === 'string' && token !== '' ? tokens.verify(token) : undefined;
    if (!identity) {
      if (form) return sendPage(res, 401, SIGN_IN_REFUSED);
      throw new HttpError(typeof token === 'string' && token !== '' ? 'INVALID_ADMIN_TOKEN' : 'MISSING_ADMIN_TOKEN');
    }
    const { cookie, session } = sessions.create(identity);
    sessions.setCookie(req, res, cookie, session);
    res.setHeader('Cache-Control', 'no-store');
    // The form's answer: 303, so a reload of /dashboard does not post the token again.
    if (form) return res.redirect(303, '/dashboard');
    res.status(201).json(sessionBody(session));
  });

  router.get('/dashboard/session', (req, res) => {
    const session = sessions.read(req);
    if (!session) throw new HttpError('MISSING_ADMIN_TOKEN', 'Sign in to the dashboard first.');
    res.setHeader('Cache-Control', 'no-store');
    res.json(sessionBody(session));
  });

  // Sign-out: an unsafe request like the buttons' (CSRF token, same origin).
  router.delete('/dashboard/session', (req, res) => {
    const session = sessions.read(req);
    if (session) sessions.requireCsrf(req, session);
    sessions.clearCookie(req, res);
    res.status(204).end();
  });

  router.get('/dashboard/stream', (req, res) => {
    const session = sessions.read(req);
    if (!session) return sendProblem(res, new HttpError('MISSING_ADMIN_TOKEN', 'Sign in to the dashboard first.'));
    streamFigures(req, res, figures, session);
  });

  return router;
}
