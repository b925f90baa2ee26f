// What the two outage scenarios (3: Redis, 4: Postgres) share: an event with a probe coupon of
// its own, a burst slow enough to go on well after the outage, and the contract the probe's
// answers must keep while the dependency is down.
import type { RedisServer } from '@coupons/shared/testing';
import type { ChaosCluster, ClusterSpec } from '../cluster.ts';
import type { ScenarioContext } from '../scenario.ts';
import { scenarioCoupons } from '../scenario.ts';
import { answeredShare, isRetryLater, startBurst, type ProbeAnswer, type RunningLoad } from '../traffic.ts';
import { ownTicket } from './common.ts';

/** Room to spare: the probe's own tickets and the per-worker check never sell it out. */
const PROBE_LIMIT = 1_000;

export interface OutageEvent {
  cluster: ChaosCluster;
  codes: string[];
  /** The probe's coupon (`${tag}P`), outside the burst. */
  probeCode: string;
  /** A ticket of our own on it, for polls during the outage. */
  known: { ticketId: string; userId: string; couponCode: string };
  load: RunningLoad;
}

/** Starts the cluster and the burst (at half the usual rate), and returns once 30 % of it is answered. */
export async function startOutageEvent(
  ctx: ScenarioContext,
  redis: RedisServer,
  tag: string,
  spec: Pick<ClusterSpec, 'workers'> & Partial<Pick<ClusterSpec, 'databaseUrl'>>,
): Promise<OutageEvent> {
  const { coupons, demand, codes } = scenarioCoupons(tag, ctx.sizes);
  const probeCode = `${tag}P`;
  const cluster = await ctx.startCluster(redis, { ...spec, coupons: [...coupons, { code: probeCode, limit: PROBE_LIMIT }] });
  const known = await ownTicket(cluster, probeCode);
  const load = startBurst(cluster, demand, { ...ctx.sizes.burst, rate: ctx.sizes.burst.rate / 2 });
  await answeredShare(load, 0.3);
  return { cluster, codes, probeCode, known, load };
}

/**
 * The contract while `dependency` is down, from the probe's answers: every request answered
 * within the client timeout, no 5xx but a 503 with a problem document and a Retry-After, and
 * none of the `refused` kinds of request (those that need the dependency) served as if it were up.
 */
export function outageViolations(answers: readonly ProbeAnswer[], dependency: string, timeoutMs: number, refused: ProbeAnswer['what'][]): string[] {
  const violations: string[] = [];
  const hung = answers.filter((a) => a.status === 0);
  if (hung.length) violations.push(`${hung.length} probe requests got no answer within ${timeoutMs / 1000} s while ${dependency} was down (${hung[0]!.what}: ${hung[0]!.error})`);
  const failed = answers.filter((a) => a.status >= 500 && !isRetryLater(a));
  if (failed.length) {
    const first = failed[0]!;
    violations.push(`${failed.length} probe answers were 5xx without the 503 contract (first: ${first.what} ${first.status} ${first.code ?? ''} retry-after=${first.retryAfter} type=${first.contentType})`);
  }
  const served = answers.filter((a) => refused.includes(a.what) && a.status > 0 && a.status < 500);
  if (served.length) violations.push(`${served.length} ${refused.join('/')} probes were answered ${[...new Set(served.map((a) => a.status))].join('/')} while ${dependency} was down`);
  return violations;
}
