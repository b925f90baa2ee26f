// The cost of verifying a JWT on every request (issue 11: at most 15 % more API CPU per admitted
// request). Two API processes, one in AUTH_MODE=trusted-header and one in AUTH_MODE=jwt (a run key
// pair, RS256, each request a new user with its own token: the verified-token cache never hits,
// so this is the worst case), take the same accept load in turns. The figure is the API process's
// own CPU (user + system, all its threads: WebCrypto verifies on libuv's pool) over the load,
// divided by the 202s it answered. CPU time is steadier than throughput on a shared machine.
import type { ClientIdentity } from '@coupons/harness/identity';
import { processCpuSeconds } from '@coupons/harness/measure';
import { loadSettings, type BenchContext } from './bench-context.ts';
import { sendIssueRequests, type LoadSummary } from './http-load.ts';

/** CPU ms (user + system, all threads) the process has used so far. */
const cpuMsOf = (pid: number) => processCpuSeconds(pid) * 1000;

export interface CpuLoad extends LoadSummary {
  /** The API process's CPU over the load. */
  apiCpuMs: number;
  admitted: number;
  /** apiCpuMs per 202, in µs. */
  cpuPerAdmittedUs: number;
}

export interface AuthCost {
  trusted: CpuLoad;
  jwt: CpuLoad;
}

export interface AcceptApi {
  url: string;
  pid: number;
}

/** One measured accept load on `api`: its CPU before and after, per admitted request. */
export async function measureCpuPerAdmitted(ctx: BenchContext, label: string, api: AcceptApi, couponCode: string, identity: ClientIdentity): Promise<CpuLoad> {
  const count = ctx.options.acceptRequests;
  // Tokens are minted first (in this process): the API's clock starts with the load (onStart).
  let before = 0;
  const summary = await sendIssueRequests(label, { url: api.url, couponCode, identity, onStart: () => (before = cpuMsOf(api.pid)) }, count, loadSettings(ctx));
  const apiCpuMs = cpuMsOf(api.pid) - before;
  const admitted = summary.statusCounts['202'] ?? 0;
  return { ...summary, apiCpuMs, admitted, cpuPerAdmittedUs: admitted > 0 ? (apiCpuMs * 1000) / admitted : Number.NaN };
}

