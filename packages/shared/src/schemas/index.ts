export { z } from './zod.ts';
export { userIdSchema, userIdHeaderSchema, couponCodeSchema, ticketIdSchema, issueRequestBodySchema } from './params.ts';
export {
  ticketAcceptedSchema,
  ticketSchema,
  couponSchema,
  walletEntrySchema,
  problemSchema,
  healthSchema,
} from './responses.ts';
