import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Result } from 'ioredis';
import type { RedisClient } from './client.ts';
import type { RunState } from './coupon-mirror.ts';

/**
 * The Lua scripts, one file each (`name-<number of keys>.lua`, header documents KEYS/ARGV/return),
 * registered once per connection with `defineCommand` so ioredis sends EVALSHA. What two scripts
 * write alike lives in `lua/includes/` and is pulled in by a `--@include <name>` line (BullMQ's
 * pattern), so e.g. the ticket hash's and the coupon mirror's layouts are written once.
 */
const SCRIPTS = {
  admitIssueRequest: 'admit-4.lua',
  readDecisionBatch: 'read-batch-3.lua',
  resolveDecisionBatch: 'resolve-batch-2.lua',
  acquireCouponLock: 'acquire-lock-2.lua',
  renewCouponLock: 'renew-lock-1.lua',
  releaseCouponLock: 'release-lock-1.lua',
  raiseCounterFloor: 'raise-counter-1.lua',
  ticketsProgress: 'tickets-progress-1.lua',
  retireCouponState: 'retire-coupon-state-6.lua',
  restoreWalletTickets: 'restore-wallet-tickets-1.lua',
  readCouponMirror: 'read-mirror-1.lua',
  flagCouponMirrorStale: 'flag-mirror-stale-1.lua',
  copyCouponMirror: 'copy-mirror-1.lua',
  setCouponRunState: 'set-run-state-1.lua',
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** Every registered script's command name (tests check each one runs on a Redis Cluster: one slot per call). */
export const SCRIPT_NAMES = Object.keys(SCRIPTS) as ScriptName[];

function numberOfKeys(file: string): number {
  return Number(/-(\d+)\.lua$/.exec(file)![1]);
}

const readLua = (path: string) => readFileSync(new URL(`./lua/${path}`, import.meta.url), 'utf8');

/** A script's source with its `--@include name` lines replaced by lua/includes/name.lua. */
export function scriptSource(file: string): string {
  return readLua(file).replace(/^--@include ([a-z0-9-]+)$/gm, (_line, name: string) => readLua(`includes/${name}.lua`));
}

const sources = new Map<ScriptName, string>(Object.entries(SCRIPTS).map(([name, file]) => [name as ScriptName, scriptSource(file)]));

/** The SHA1 Redis knows a script by (EVALSHA, SCRIPT EXISTS). */
export function scriptSha1(name: ScriptName): string {
  return createHash('sha1').update(sources.get(name)!).digest('hex');
}

/** Adds the coupon commands to a connection (idempotent). */
export function registerCommands<R extends RedisClient>(redis: R): R & CouponCommands {
  for (const [name, file] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] === 'function') continue;
    redis.defineCommand(name, { numberOfKeys: numberOfKeys(file), lua: sources.get(name)! });
  }
  return redis as R & CouponCommands;
}

type Arg = string | number;

/** Where a ticket stands for the job that waits on it (tickets-progress-1.lua). */
export type TicketProgress = 'queued' | 'issued' | 'rejected' | 'orphan' | 'gone';

/** Typed signatures of the registered scripts (see each .lua header). */
export interface CouponCommands {
  admitIssueRequest(
    users: string, pending: string, seq: string, meta: string,
    userId: string, ticketId: string, maxBacklog: number, ticketPrefix: string,
    startsAtMs: number, endsAtMs: number, decidedSeqFloor: number | string, replaceExpired: 0 | 1, runVersionFloor: number,
  ): Promise<[number, string, string, number, number, number]>;
  readDecisionBatch(pending: string, meta: string, seq: string, batchSize: number, ticketPrefix: string): Promise<string[]>;
  resolveDecisionBatch(
    pending: string, meta: string,
    ticketPrefix: string, ttlSeconds: number, issued: number, total: number, decidedSeq: number | string,
    issuedBefore: number, decidedSeqBefore: number | string, ...outcomes: Arg[]
  ): Promise<number>;
  acquireCouponLock(lock: string, fence: string, token: string, leaseMs: number): Promise<number>;
  renewCouponLock(lock: string, token: string, leaseMs: number): Promise<number>;
  releaseCouponLock(lock: string, token: string): Promise<number>;
  raiseCounterFloor(counter: string, floor: number | string): Promise<number>;
  ticketsProgress(pending: string, ticketPrefix: string, ...ticketIds: string[]): Promise<TicketProgress[]>;
  retireCouponState(users: string, pending: string, seq: string, meta: string, fence: string, enqueued: string, retentionSeconds: number): Promise<number>;
  restoreWalletTickets(users: string, ticketPrefix: string, ttlSeconds: number, ...wallets: Arg[]): Promise<number>;
  readCouponMirror(meta: string): Promise<[string, string, string, string]>;
  flagCouponMirrorStale(meta: string): Promise<number>;
  copyCouponMirror(meta: string, total: number, issued: number, decidedSeq: number | string, run: RunState, runVersion: number): Promise<'0' | '1'>;
  setCouponRunState(meta: string, run: RunState, runVersion: number, missingTtlSeconds: number): Promise<0 | 1>;
}

export type CouponRedis = RedisClient & CouponCommands;
export type { Result };
