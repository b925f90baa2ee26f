// The express 5 app both HTTP references share: the same parsing as this API's
// POST /v1/coupons/:code/issue-requests (express.json with the same limits, X-User-Id as a UUID,
// the coupon code regex, the optional empty-object body, all through the same zod schemas),
// then a handler. Listens on an ephemeral port and prints one line the bench waits for.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import { couponCodeSchema, issueRequestBodySchema, userIdHeaderSchema } from '@coupons/shared/schemas';
import { onShutdownSignal, type Logger } from '@coupons/shared/runtime';

export interface IssueRequest {
  userId: string;
  couponCode: string;
}

/** The line a bench child prints once it can take work; the bench reads the port from it. */
export const READY_LINE = 'bench child ready on port';

export function sendProblem(res: Response, status: number, code: string): void {
  res.status(status).type('application/problem+json').json({ type: 'about:blank', title: code, status, code });
}

/**
 * Builds the app, listens on an ephemeral port, announces it, and closes on SIGTERM (then
 * `close`, for the handler's connections).
 */
export async function serveIssueRequests(
  log: Logger,
  handle: (request: IssueRequest, res: Response) => Promise<void> | void,
  close: () => Promise<unknown> = async () => {},
): Promise<void> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(express.json({ limit: 4096, strict: true, type: ['application/json', 'application/*+json'] }));
  app.post('/v1/coupons/:code/issue-requests', async (req, res) => {
    const rawUser = req.get('x-user-id')?.trim();
    if (!rawUser) return sendProblem(res, 401, 'MISSING_USER_ID');
    const user = userIdHeaderSchema.safeParse(rawUser);
    if (!user.success) return sendProblem(res, 400, 'INVALID_USER_ID');
    const code = couponCodeSchema.safeParse(req.params.code);
    if (!code.success) return sendProblem(res, 400, 'INVALID_COUPON_CODE');
    if (req.body !== undefined && !issueRequestBodySchema.safeParse(req.body).success) return sendProblem(res, 400, 'INVALID_BODY');
    await handle({ userId: user.data.toLowerCase(), couponCode: code.data }, res);
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.keepAliveTimeout = 65_000;
  process.stdout.write(`${READY_LINE} ${(server.address() as AddressInfo).port}\n`);
  onShutdownSignal(log, 5_000, async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    await close();
  });
}
