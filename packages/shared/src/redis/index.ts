export { couponKeys, ticketKey, queuePrefix, ISSUE_QUEUE_NAME, type CouponKeys } from './keys.ts';
export { registerCommands, type CouponCommands, type CouponRedis } from './commands.ts';
export { readTicket, type StoredTicket } from './read-ticket.ts';
export { admitInRedis, type AdmitRequest } from './admit.ts';
export { REDIS_NOT_NOW_CODES, redisRefusal, isRedisConnectionError, isRedisUnavailable, type RedisNotNowCode } from './redis-refusal.ts';
