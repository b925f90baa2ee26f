// P1's ceiling: bare express 5 that parses the issue request exactly as this API does and
// answers 202 with a ticket-shaped body, touching nothing else.
import { randomUUID } from 'node:crypto';
import { runMain } from '@coupons/shared/runtime';
import { serveIssueRequests } from './issue-app.ts';

await runMain('bench-echo', async (log) => {
  await serveIssueRequests(log, ({ couponCode }, res) => {
    const ticketId = randomUUID();
    const pollUrl = `/v1/tickets/${ticketId}`;
    res.status(202).location(pollUrl).json({ ticketId, couponCode, status: 'queued', position: 0, pollUrl });
  });
});
