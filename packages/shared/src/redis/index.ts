export { couponKeys, ticketKey, queuePrefix, ISSUE_QUEUE_NAME, type CouponKeys } from './keys.ts';
export { registerCommands, type CouponCommands, type CouponRedis } from './commands.ts';
export { readTicket, type StoredTicket } from './read-ticket.ts';
export { couponScripts, type CouponScripts, type AdmitRequest, type BatchResolution, type WalletTicket } from './coupon-scripts.ts';
export { decodeTicket } from './ticket-hash.ts';
export { decodeMirror, runStateOf, type CouponMirror, type MirrorFigures, type RunState } from './coupon-mirror.ts';
export { couponChangesChannel, publishCouponChange, CouponChangeSubscription, type OnCouponChange } from './coupon-changes.ts';
export { REDIS_NOT_NOW_CODES, redisRefusal, isRedisConnectionError, isRedisUnavailable, type RedisNotNowCode } from './redis-refusal.ts';
export { parseRedisInfo } from './info.ts';
