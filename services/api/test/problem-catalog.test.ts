import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpError, unavailable } from '../src/errors/http-error.ts';
import { PROBLEM_CODES, PROBLEMS, problemType, type ProblemCode } from '../src/errors/problem-catalog.ts';
import { ANY_ROUTE_PROBLEMS, buildOpenApiDocument } from '../src/openapi/openapi-document.ts';
import { ADMIN_DOCUMENTED_CODES } from '../src/openapi/admin-document.ts';
import { configFields } from '@coupons/shared/config';

const SRC = join(import.meta.dirname, '../src');

/** Every TypeScript file of the API's source, with its path relative to src. */
function sourceFiles(dir = SRC): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [{ path: relative(SRC, full), text: readFileSync(full, 'utf8') }] : [];
  });
}

/** Quoted SCREAMING_SNAKE strings: how a problem code is written at a call site. */
const codeLiterals = (text: string): string[] => [...text.matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)['"]/g)].map((m) => m[1]!);

// Uppercase literals that are not problem codes: socket error codes, HTTP methods, JWT algorithm
// names, Redis command options (SET … PX).
const NOT_PROBLEM_CODES = new Set([
  'JWT', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENETUNREACH',
  'GET', 'HEAD', 'RS256', 'ES256', 'ES384', 'ES512',
  'PX',
  // Configuration variables (a Pick<Config, …> names them).
  ...Object.keys(configFields.shape),
]);

describe('the problem catalog', () => {
  it('gives each code the status the contract names (DESIGN.md, README): the tests derive statuses from here', () => {
    const statuses = Object.fromEntries(PROBLEM_CODES.map((code) => [code, PROBLEMS[code].status]));
    expect(statuses).toEqual({
      INVALID_USER_ID: 400,
      INVALID_COUPON_CODE: 400,
      INVALID_TICKET_ID: 400,
      INVALID_BODY: 400,
      INVALID_QUERY: 400,
      MALFORMED_JSON: 400,
      BAD_REQUEST_BODY: 400,
      BAD_REQUEST: 400,
      MISSING_USER_ID: 401,
      UNVERIFIED_USER_ID: 401,
      MISSING_TOKEN: 401,
      INVALID_TOKEN: 401,
      TOKEN_EXPIRED: 401,
      MISSING_ADMIN_TOKEN: 401,
      INVALID_ADMIN_TOKEN: 401,
      CSRF_REJECTED: 403,
      COUPON_NOT_FOUND: 404,
      TICKET_NOT_FOUND: 404,
      ROUTE_NOT_FOUND: 404,
      SOLD_OUT: 409,
      EVENT_NOT_OPEN: 409,
      EVENT_PAUSED: 409,
      COUPON_EXISTS: 409,
      EVENT_STARTED: 409,
      EVENT_CLOSED: 409,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      UNSUPPORTED_ENCODING: 415,
      INTERNAL: 500,
      OVERLOADED: 503,
      UNAVAILABLE: 503,
    });
  });

  it('has one title per status, a detail for every code, and Retry-After exactly on the 503s and EVENT_PAUSED (it resumes)', () => {
    const titles = new Map<number, Set<string>>();
    for (const code of PROBLEM_CODES) {
      const { status, title, detail } = PROBLEMS[code];
      titles.set(status, (titles.get(status) ?? new Set()).add(title));
      expect(detail).toMatch(/\S/);
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect({ code, retryAfter: 'retryAfter' in PROBLEMS[code] }).toEqual({ code, retryAfter: status === 503 || code === 'EVENT_PAUSED' });
    }
    for (const [status, set] of titles) expect({ status, titles: [...set] }).toEqual({ status, titles: [expect.stringMatching(/\S/)] });
  });

  it('makes HttpError: status and title from the catalog, the default detail unless given, headers as given', () => {
    const soldOut = new HttpError('SOLD_OUT');
    expect({ status: soldOut.status, title: soldOut.title, detail: soldOut.detail, headers: soldOut.headers }).toEqual({
      status: 409,
      title: 'Conflict',
      detail: PROBLEMS.SOLD_OUT.detail,
      headers: {},
    });
    const down = unavailable(3, 'Postgres');
    expect({ code: down.code, status: down.status, detail: down.detail, headers: down.headers }).toEqual({
      code: 'UNAVAILABLE',
      status: 503,
      detail: 'Postgres is unavailable; retry later.',
      headers: { 'Retry-After': '3' },
    });
    expect(problemType('EVENT_NOT_OPEN')).toBe('https://coupons.example/problems/event-not-open');
  });
});

describe('the catalog and the OpenAPI document', () => {
  const document = buildOpenApiDocument() as unknown as {
    info: { description: string };
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { examples?: Record<string, { $ref: string }> }> }> }>>;
    components: { examples: Record<string, { value: unknown }> };
  };

  /** Every problem code a route documents: [route, response status, code]. */
  const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).flatMap(([method, { responses }]) =>
      Object.entries(responses).flatMap(([status, response]) =>
        Object.entries(response.content?.['application/problem+json']?.examples ?? {}).map(([code, example]) => ({
          route: `${method} ${path}`,
          status: Number(status),
          code,
          ref: example.$ref,
        })),
      ),
    ),
  );

  it('carries every catalog entry as an example, exactly as the API sends it with its default detail', () => {
    expect(Object.keys(document.components.examples).sort()).toEqual([...PROBLEM_CODES].sort());
    for (const code of PROBLEM_CODES) {
      const { status, title, detail } = PROBLEMS[code];
      expect(document.components.examples[code]!.value).toEqual({ type: problemType(code), title, status, detail, code });
    }
  });

  it('lists every code under some route with its catalog status, except the ones any request may get (named in the description)', () => {
    // The admin routes' codes are in the admin document (operations port).
    const onRoutes = new Set<string>([...documented.map(({ code }) => code), ...ADMIN_DOCUMENTED_CODES]);
    const anyRoute = new Set<ProblemCode>(ANY_ROUTE_PROBLEMS);
    for (const code of PROBLEM_CODES) expect({ code, documented: onRoutes.has(code) || anyRoute.has(code) }).toEqual({ code, documented: true });
    for (const code of ANY_ROUTE_PROBLEMS) expect(document.info.description).toContain(`${PROBLEMS[code].status} ${code}`);
    expect(documented.length).toBeGreaterThan(0);
    for (const entry of documented) {
      expect(entry.code in PROBLEMS).toBe(true);
      expect(entry).toEqual({ ...entry, status: PROBLEMS[entry.code as ProblemCode].status, ref: `#/components/examples/${entry.code}` });
    }
  });
});

describe('the codes the API can send', () => {
  const files = sourceFiles();

  it('are all in the catalog: every code literal in services/api/src is a catalog code', () => {
    expect(files.map(({ path }) => path)).toEqual(expect.arrayContaining(['errors/problem-middleware.ts', 'admission/admit-issue-request.ts']));
    const strays = files.flatMap(({ path, text }) =>
      codeLiterals(text)
        .filter((literal) => !(literal in PROBLEMS) && !NOT_PROBLEM_CODES.has(literal))
        .map((literal) => `${path}: ${literal}`),
    );
    expect(strays).toEqual([]);
  });

  it('include every catalog code: each is sent from somewhere outside the catalog and the document', () => {
    const used = new Set(
      files.filter(({ path }) => !['errors/problem-catalog.ts', 'openapi/openapi-document.ts'].includes(path)).flatMap(({ text }) => codeLiterals(text)),
    );
    expect(PROBLEM_CODES.filter((code) => !used.has(code))).toEqual([]);
  });
});
