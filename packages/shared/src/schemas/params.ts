import { z } from './zod.ts';

/** The nil and the max UUID: placeholders, never a real user (RFC 9562 reserves both). */
const RESERVED_UUIDS = new Set(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']);

/** A user id, however it arrived (X-User-Id, a JWT's `sub`): a UUID, and not the nil or the max one. */
export const userIdSchema = z.uuid().refine((id) => !RESERVED_UUIDS.has(id.toLowerCase()), 'the nil and max UUIDs are not user ids');

/** Identity from the upstream gateway. */
export const userIdHeaderSchema = userIdSchema.openapi({
  description: 'The caller, as the upstream gateway authenticated them.',
  example: '0b9d3c1e-6f7a-4c2d-9a51-2f0f8e6b7c11',
});

export const couponCodeSchema = z
  .string()
  .regex(/^[A-Z0-9]{1,32}$/, 'a coupon code is 1-32 upper-case letters or digits')
  .openapi({ param: { name: 'code', in: 'path' }, example: 'A0001' });

export const ticketIdSchema = z.uuid().openapi({
  param: { name: 'ticketId', in: 'path' },
  example: '019a6b0e-3c5d-7f00-8a1b-2c3d4e5f6a7b',
});

/** The issue-request body: optional, and when present an empty JSON object (room for later fields). */
export const issueRequestBodySchema = z.object({}).strict().openapi('IssueRequestBody');
