// The admin API's OpenAPI 3.1 document (operations port, GET /admin/v1/openapi.json), generated
// from the zod schemas that validate its requests (packages/shared/src/schemas/admin.ts).
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import {
  adminCouponSchema,
  auditEntrySchema,
  auditQuerySchema,
  couponCodeSchema,
  createCouponBodySchema,
  patchCouponBodySchema,
  z,
} from '@coupons/shared/schemas';
import { PROBLEMS, problemType, type ProblemCode } from '../errors/problem-catalog.ts';
import { ANY_ROUTE_PROBLEMS, BODY, json, problems } from './openapi-document.ts';

/** Every admin call may get these: no token, a wrong one, or Redis/Postgres down. */
const ADMIN = ['MISSING_ADMIN_TOKEN', 'INVALID_ADMIN_TOKEN', 'UNAVAILABLE'] as const satisfies readonly ProblemCode[];
/** A change made with the dashboard's session cookie also needs its CSRF token and origin (services/api/src/dashboard): 403 otherwise. */
const ADMIN_CHANGE = [...ADMIN, 'CSRF_REJECTED'] as const satisfies readonly ProblemCode[];
const SECURITY = [{ adminToken: [] as string[] }];
const codeParam = z.object({ code: couponCodeSchema });
const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });

const runAction = (action: 'pause' | 'resume' | 'close', summary: string, description: string, codes: ProblemCode[]): RouteConfig => ({
  method: 'post',
  path: `/admin/v1/coupons/{code}/${action}`,
  summary,
  description,
  security: SECURITY,
  request: { params: codeParam },
  responses: { 200: json('The coupon with its new state.', adminCouponSchema), ...problems(...ADMIN_CHANGE, 'INVALID_COUPON_CODE', 'COUPON_NOT_FOUND', ...codes) },
});

const ROUTES: RouteConfig[] = [
  {
    method: 'post',
    path: '/admin/v1/coupons',
    summary: 'Create a coupon (an event), optionally scheduled',
    description: 'Served by every API replica and worker within a second. Audited.',
    security: SECURITY,
    request: { body: jsonBody(createCouponBodySchema) },
    responses: { 201: json('The new coupon.', adminCouponSchema), ...problems(...ADMIN_CHANGE, 'INVALID_BODY', ...BODY, 'COUPON_EXISTS') },
  },
  {
    method: 'get',
    path: '/admin/v1/coupons',
    summary: 'Every coupon with its state and live figures',
    security: SECURITY,
    responses: { 200: json('All coupons, by code.', z.array(adminCouponSchema)), ...problems(...ADMIN) },
  },
  {
    method: 'get',
    path: '/admin/v1/coupons/{code}',
    summary: 'One coupon with its state and live figures',
    security: SECURITY,
    request: { params: codeParam },
    responses: { 200: json('The coupon.', adminCouponSchema), ...problems(...ADMIN, 'INVALID_COUPON_CODE', 'COUPON_NOT_FOUND') },
  },
  {
    method: 'patch',
    path: '/admin/v1/coupons/{code}',
    summary: 'Change a coupon',
    description:
      'name and discountAmount any time; totalQuantity, startsAt and a later (or no) endsAt only before the event opens (409 EVENT_STARTED); an earlier endsAt any time. A closed coupon changes no more (409 EVENT_CLOSED). Audited.',
    security: SECURITY,
    request: { params: codeParam, body: jsonBody(patchCouponBodySchema) },
    responses: {
      200: json('The changed coupon.', adminCouponSchema),
      ...problems(...ADMIN_CHANGE, 'INVALID_COUPON_CODE', 'INVALID_BODY', ...BODY, 'COUPON_NOT_FOUND', 'EVENT_STARTED', 'EVENT_CLOSED'),
    },
  },
  runAction(
    'pause',
    'Pause admissions',
    'Once this has returned 200, no API replica admits another request for the coupon (409 EVENT_PAUSED with Retry-After); tickets already admitted are still decided, in order. Idempotent. 503 when Redis cannot take it: the pause is saved in Postgres, retry.',
    ['EVENT_CLOSED'],
  ),
  runAction('resume', 'Resume admissions after a pause', 'Idempotent. A closed coupon cannot resume (409 EVENT_CLOSED).', ['EVENT_CLOSED']),
  runAction(
    'close',
    'Close the event for good',
    'Once this has returned 200, no API replica admits another request (409 EVENT_NOT_OPEN); tickets already admitted are still decided. Final. Idempotent.',
    [],
  ),
  {
    method: 'get',
    path: '/admin/v1/audit',
    summary: 'The audit log, newest first',
    security: SECURITY,
    request: { query: auditQuerySchema },
    responses: { 200: json('Changes made through the admin API.', z.array(auditEntrySchema)), ...problems(...ADMIN, 'INVALID_QUERY') },
  },
];

/** Codes the admin document lists (the catalog test checks each code is documented somewhere). */
export const ADMIN_DOCUMENTED_CODES: readonly ProblemCode[] = [
  ...new Set(ROUTES.flatMap((route) => Object.values(route.responses).flatMap((response) => Object.keys((response as any).content?.['application/problem+json']?.examples ?? {})))),
] as ProblemCode[];

/** The admin API's OpenAPI 3.1 document. */
export function buildAdminOpenApiDocument() {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'One of the ADMIN_TOKEN values (each at least 32 characters).',
  });
  for (const route of ROUTES) registry.registerPath(route);
  for (const code of new Set<ProblemCode>([...ADMIN_DOCUMENTED_CODES, ...ANY_ROUTE_PROBLEMS])) {
    const { status, title, detail } = PROBLEMS[code];
    registry.registerComponent('examples', code, { summary: `${status} ${code}`, value: { type: problemType(code), title, status, detail, code } });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Coupon event admin API',
      version: '1.0.0',
      description: `Operating an event, on the operations port only (never the public one), with \`Authorization: Bearer <ADMIN_TOKEN>\`. Errors are RFC 9457 problem details with a stable \`code\`; any request may also get ${ANY_ROUTE_PROBLEMS.map((code) => `${PROBLEMS[code].status} ${code}`).join(', ')}.`,
    },
    servers: [{ url: '/' }],
  });
}

/** Every documented admin path, in express syntax (tests compare them with the router). */
export const ADMIN_DOCUMENTED_ROUTES = ROUTES.map((route) => ({ method: route.method, path: route.path.replace(/\{(\w+)\}/g, ':$1') }));
