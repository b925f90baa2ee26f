export { verifyRun, type RunVerdict, type CouponVerdict } from './verify-run.ts';
export { countLostAdmissions, type FaultRules, type LostAdmissions } from './fault-rules.ts';
export { isFinal, type ObservedRun, type TicketOutcome, type TicketStatus, type CouponFacts } from './observed-run.ts';
export { couponFactsFromPostgres, couponFactsFromApi, walletIdsFromPostgres, walletRateFromPostgres, type WalletRate } from './coupon-facts.ts';
export { countInversions, isInLine, placeInLine } from './first-come.ts';
export { percentile, summarizeLatency, statusKey, type LatencySummary } from './latency.ts';
