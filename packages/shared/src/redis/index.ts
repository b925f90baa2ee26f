export { couponKeys, ticketKey, queuePrefix, ISSUE_QUEUE_NAME, type CouponKeys } from './keys.ts';
export { registerCommands, type CouponCommands, type CouponRedis } from './commands.ts';
export { readTicket, type StoredTicket } from './read-ticket.ts';
