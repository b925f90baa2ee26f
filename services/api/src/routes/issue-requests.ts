import type { Router } from 'express';
import { apiRouter } from '../http/api-router.ts';
import { couponCodeSchema, issueRequestBodySchema } from '@coupons/shared/schemas';
import { identify } from '../http/identity.ts';
import { rejectNonJsonBody } from '../http/json-body.ts';
import { malformedParamProblem } from '../http/malformed-param.ts';
import { parseOr400 } from '../http/validate.ts';
import { admitIssueRequest, type AdmissionDeps } from '../admission/admit-issue-request.ts';
import { sendProblem } from '../errors/problem-middleware.ts';

export function issueRequestsRouter(deps: AdmissionDeps): Router {
  const router = apiRouter();
  router.post('/v1/coupons/:code/issue-requests', async (req, res) => {
    const userId = await identify(req);
    const code = parseOr400(couponCodeSchema, req.params.code, 'INVALID_COUPON_CODE', 'coupon code');
    rejectNonJsonBody(req);
    if (req.body !== undefined) parseOr400(issueRequestBodySchema, req.body, 'INVALID_BODY', 'request body');

    const admitted = await admitIssueRequest(deps, code, userId);
    if (admitted.soldOut) {
      sendProblem(res, admitted.problem);
      return;
    }
    const pollUrl = `/v1/tickets/${admitted.ticketId}`;
    res
      .status(admitted.created ? 202 : 200)
      .location(pollUrl)
      .json({
        ticketId: admitted.ticketId,
        couponCode: admitted.couponCode,
        status: admitted.status,
        ...(admitted.position !== undefined && { position: admitted.position }),
        pollUrl,
      });
  });
  router.use(malformedParamProblem('INVALID_COUPON_CODE', 'coupon code'));
  return router;
}
