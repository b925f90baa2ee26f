import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  couponCodeSchema,
  couponSchema,
  healthSchema,
  issueRequestBodySchema,
  problemSchema,
  ticketAcceptedSchema,
  ticketIdSchema,
  ticketSchema,
  userIdHeaderSchema,
  walletEntrySchema,
  z,
} from '@coupons/shared/schemas';

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: problemSchema } },
});
const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' as const } } };

const userHeader = z.object({ 'x-user-id': userIdHeaderSchema });
const identityProblems = {
  400: problem('Invalid input (INVALID_USER_ID, INVALID_COUPON_CODE, INVALID_TICKET_ID, MALFORMED_JSON, INVALID_BODY).'),
  401: problem('MISSING_USER_ID: no X-User-Id header.'),
};

const ROUTES: RouteConfig[] = [
  {
    method: 'post',
    path: '/v1/coupons/{code}/issue-requests',
    summary: 'Ask for a coupon (first come, first served)',
    description:
      'Admits the request and answers at once with a ticket to poll. One ticket per user and coupon: a resubmission returns the existing ticket (200) without queueing twice.',
    request: {
      params: z.object({ code: couponCodeSchema }),
      headers: userHeader,
      body: { required: false, content: { 'application/json': { schema: issueRequestBodySchema } } },
    },
    responses: {
      202: { ...json('Admitted: a new queued ticket.', ticketAcceptedSchema), headers: { Location: { schema: { type: 'string' } } } },
      200: json('This user already has a ticket for this coupon: its current state.', ticketAcceptedSchema),
      ...identityProblems,
      404: problem('COUPON_NOT_FOUND.'),
      409: problem('SOLD_OUT (the coupon is exhausted) or EVENT_NOT_OPEN (outside its window).'),
      413: problem('PAYLOAD_TOO_LARGE.'),
      415: problem('UNSUPPORTED_MEDIA_TYPE (a body that is not JSON) or UNSUPPORTED_ENCODING (a charset or Content-Encoding the API does not read).'),
      503: { ...problem('OVERLOADED (backlog over its bound) or UNAVAILABLE (Redis or Postgres unreachable).'), headers: retryAfter },
    },
  },
  {
    method: 'get',
    path: '/v1/tickets/{ticketId}',
    summary: 'Poll a ticket',
    request: { params: z.object({ ticketId: ticketIdSchema }), headers: userHeader },
    responses: {
      200: json('The ticket: queued (with position), issued (with walletId) or rejected (with reason).', ticketSchema),
      ...identityProblems,
      404: problem('TICKET_NOT_FOUND: unknown, expired, or not this user’s.'),
      503: { ...problem('UNAVAILABLE.'), headers: retryAfter },
    },
  },
  {
    method: 'get',
    path: '/v1/coupons',
    summary: 'List coupons with issued and remaining quantities',
    responses: { 200: json('All coupons.', z.array(couponSchema)), 503: problem('UNAVAILABLE.') },
  },
  {
    method: 'get',
    path: '/v1/coupons/{code}',
    summary: 'One coupon',
    request: { params: z.object({ code: couponCodeSchema }) },
    responses: {
      200: json('The coupon.', couponSchema),
      400: problem('INVALID_COUPON_CODE.'),
      404: problem('COUPON_NOT_FOUND.'),
      503: problem('UNAVAILABLE.'),
    },
  },
  {
    method: 'get',
    path: '/v1/me/coupons',
    summary: "The caller's wallet",
    request: { headers: userHeader },
    responses: { 200: json('Coupons issued to the caller.', z.array(walletEntrySchema)), ...identityProblems, 503: problem('UNAVAILABLE.') },
  },
  { method: 'get', path: '/healthz', summary: 'Liveness', responses: { 200: json('The process serves HTTP.', healthSchema) } },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Redis and Postgres reachable, not shutting down',
    responses: { 200: json('Ready.', healthSchema), 503: json('Not ready.', healthSchema) },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  },
];

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  for (const route of ROUTES) registry.registerPath(route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Coupon event API',
      version: '1.0.0',
      description: 'First-come-first-served coupon issuance. Errors are RFC 9457 problem details with a stable `code`.',
    },
    servers: [{ url: '/' }],
  });
}

/** Every documented path, in express syntax (tests compare them with the router). */
export const DOCUMENTED_ROUTES = ROUTES.map((route) => ({
  method: route.method,
  path: route.path.replace(/\{(\w+)\}/g, ':$1'),
}));
