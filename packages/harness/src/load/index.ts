export { now, wasAnswered, parseAnswer, type RecordedRequest, type AnsweredRequest } from './recorded-request.ts';
export { planRequests, distinctUsers, type CouponDemand, type PlannedRequest } from './plan.ts';
export { runLoad, type LoadOptions, type LoadProgress } from './autocannon-load.ts';
export { call, issueRequest, submitAll, type ClientAnswer } from './http-client.ts';
