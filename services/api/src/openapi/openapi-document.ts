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
import { PROBLEM_CODES, PROBLEMS, problemType, type ProblemCode } from '../errors/problem-catalog.ts';
import { IDENTITY_MODES } from '../auth/identity-modes.ts';

export const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' as const } } };

/** Where each catalog entry is documented: one named example per code, referenced by the routes that answer it. */
const exampleRef = (code: ProblemCode) => ({ $ref: `#/components/examples/${code}` });

/**
 * A route's problem answers, grouped by status from the catalog: each status lists its codes
 * (with their default detail) and refers to each code's example; a status whose codes ask the
 * client to come back later documents Retry-After.
 */
export function problems(...codes: ProblemCode[]) {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of new Set(codes)) byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => [
      status,
      {
        description: group.map((code) => `${code}: ${PROBLEMS[code].detail}`).join(' '),
        content: {
          'application/problem+json': { schema: problemSchema, examples: Object.fromEntries(group.map((code) => [code, exampleRef(code)])) },
        },
        ...(group.some((code) => 'retryAfter' in PROBLEMS[code]) && { headers: retryAfter }),
      },
    ]),
  );
}

/** Problems no route lists because any request may get them: an unknown route, a library's client error, a bug of ours. */
export const ANY_ROUTE_PROBLEMS = ['ROUTE_NOT_FOUND', 'BAD_REQUEST', 'INTERNAL'] as const satisfies readonly ProblemCode[];

/** X-User-Id: read in the gateway and trusted-header modes, ignored in jwt mode. */
const userHeader = z.object({ 'x-user-id': userIdHeaderSchema.optional() });
/** What identifying the caller can answer on a user-facing route, in any AUTH_MODE (auth/identity-modes.ts). */
const IDENTITY = [...new Set(Object.values(IDENTITY_MODES).flatMap((mode) => mode.problems))];
/** One security requirement per AUTH_MODE: the deployment's mode decides which one applies. */
const SECURITY = Object.values(IDENTITY_MODES).map((mode) => Object.fromEntries(Object.keys(mode.schemes).map((name) => [name, [] as string[]])));
/** What reading a request body can answer (express.json and http/json-body.ts). */
export const BODY = ['MALFORMED_JSON', 'BAD_REQUEST_BODY', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_ENCODING'] as const satisfies readonly ProblemCode[];

const ROUTES: RouteConfig[] = [
  {
    method: 'post',
    path: '/v1/coupons/{code}/issue-requests',
    summary: 'Ask for a coupon (first come, first served)',
    description:
      'Admits the request and answers at once with a ticket to poll. One ticket per user and coupon: a resubmission returns the existing ticket (200) without queueing twice.',
    security: SECURITY,
    request: {
      params: z.object({ code: couponCodeSchema }),
      headers: userHeader,
      body: { required: false, content: { 'application/json': { schema: issueRequestBodySchema } } },
    },
    responses: {
      202: { ...json('Admitted: a new queued ticket.', ticketAcceptedSchema), headers: { Location: { schema: { type: 'string' } } } },
      200: json('This user already has a ticket for this coupon: its current state.', ticketAcceptedSchema),
      ...problems(...IDENTITY, 'INVALID_COUPON_CODE', 'INVALID_BODY', ...BODY, 'COUPON_NOT_FOUND', 'SOLD_OUT', 'EVENT_NOT_OPEN', 'EVENT_PAUSED', 'OVERLOADED', 'UNAVAILABLE'),
    },
  },
  {
    method: 'get',
    path: '/v1/tickets/{ticketId}',
    summary: 'Poll a ticket',
    security: SECURITY,
    request: { params: z.object({ ticketId: ticketIdSchema }), headers: userHeader },
    responses: {
      200: json('The ticket: queued (with position), issued (with walletId) or rejected (with reason).', ticketSchema),
      ...problems(...IDENTITY, 'INVALID_TICKET_ID', 'TICKET_NOT_FOUND', 'UNAVAILABLE'),
    },
  },
  {
    method: 'get',
    path: '/v1/tickets/{ticketId}/events',
    summary: 'Follow a ticket: Server-Sent Events until it is final',
    description:
      'A `text/event-stream`. Each event is `event: ticket`, an `id:` and `data:` the same JSON as the poll (GET /v1/tickets/{ticketId}): one at once, one whenever the status or the position changes (the position at most once a second), the final one (issued or rejected), then the stream ends. Comments (`: ping`) every SSE_HEARTBEAT_MS keep proxies from closing it. A reconnect (the `Last-Event-ID` header, as EventSource sends it) gets the current state at once, numbered after that id. Owner-only like the poll.',
    security: SECURITY,
    request: {
      params: z.object({ ticketId: ticketIdSchema }),
      headers: userHeader.extend({ 'last-event-id': z.string().optional().openapi({ description: 'The id of the last event received (a reconnect).' }) }),
    },
    responses: {
      200: {
        description: 'The stream: `event: ticket`, `id: <n>`, `data: <Ticket JSON>` per event, and `: ping` comments.',
        content: { 'text/event-stream': { schema: { type: 'string' as const, example: 'event: ticket\nid: 1\ndata: {"ticketId":"…","couponCode":"…","userId":"…","status":"queued","position":3,"createdAt":"…"}\n\n: ping\n\nevent: ticket\nid: 2\ndata: {"ticketId":"…","couponCode":"…","userId":"…","status":"issued","walletId":"…","issuedAt":"…","createdAt":"…"}\n\n' } } },
      },
      ...problems(...IDENTITY, 'INVALID_TICKET_ID', 'TICKET_NOT_FOUND', 'OVERLOADED', 'UNAVAILABLE'),
    },
  },
  {
    method: 'get',
    path: '/v1/coupons',
    summary: 'List coupons with issued and remaining quantities',
    responses: { 200: json('All coupons.', z.array(couponSchema)), ...problems('UNAVAILABLE') },
  },
  {
    method: 'get',
    path: '/v1/coupons/{code}',
    summary: 'One coupon',
    request: { params: z.object({ code: couponCodeSchema }) },
    responses: {
      200: json('The coupon.', couponSchema),
      ...problems('INVALID_COUPON_CODE', 'COUPON_NOT_FOUND', 'UNAVAILABLE'),
    },
  },
  {
    method: 'get',
    path: '/v1/me/coupons',
    summary: "The caller's wallet",
    security: SECURITY,
    request: { headers: userHeader },
    responses: { 200: json('Coupons issued to the caller.', z.array(walletEntrySchema)), ...problems(...IDENTITY, 'UNAVAILABLE') },
  },
  { method: 'get', path: '/healthz', summary: 'Liveness', responses: { 200: json('The process serves HTTP.', healthSchema) } },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Redis and Postgres reachable, not shutting down',
    responses: { 200: json('Ready.', healthSchema), 503: json('Not ready.', healthSchema) },
  },
];

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  for (const route of ROUTES) registry.registerPath(route);
  for (const mode of Object.values(IDENTITY_MODES)) {
    for (const [name, scheme] of Object.entries(mode.schemes)) registry.registerComponent('securitySchemes', name, scheme);
  }
  // The whole catalog, one example per code (with its default detail): what the routes refer to.
  for (const code of PROBLEM_CODES) {
    const { status, title, detail } = PROBLEMS[code];
    registry.registerComponent('examples', code, { summary: `${status} ${code}`, value: { type: problemType(code), title, status, detail, code } });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Coupon event API',
      version: '1.0.0',
      description: `First-come-first-served coupon issuance. Errors are RFC 9457 problem details with a stable \`code\`; each route lists the codes it answers, and any request may also get ${ANY_ROUTE_PROBLEMS.map((code) => `${PROBLEMS[code].status} ${code}`).join(', ')}.`,
    },
    servers: [{ url: '/' }],
  });
}

/** Every documented path, in express syntax (tests compare them with the router). */
export const DOCUMENTED_ROUTES = ROUTES.map((route) => ({
  method: route.method,
  path: route.path.replace(/\{(\w+)\}/g, ':$1'),
}));
