// The million-user flags: the run's own coupons, the rate cap and time bound, the linearity run's tenth.
import { describe, expect, it } from 'vitest';
import { UsageError } from '@coupons/harness/cli';
import { ownCoupons, parseBurstArgs, type BurstOptions } from '../src/cli-args.ts';
import { compareRuns, tenthOf } from '../src/linearity.ts';
import type { BurstReport } from '../src/report.ts';

const parse = (...argv: string[]) => parseBurstArgs(argv) as BurstOptions;
const usageError = (...argv: string[]) => {
  try {
    parseBurstArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('burst at scale: flags', () => {
  it('--users N --coupons K --stock S: K coupons of the run\'s own, users and limits split evenly and adding up', () => {
    const options = parse('--users', '1000000', '--coupons', '50', '--stock', '100000', '--resubmit', '0', '--rate', '2500', '--max-seconds', '600');
    expect(options.ownCoupons).toHaveLength(50);
    expect(options.ownCoupons![0]).toEqual({ code: 'M0001', limit: 2000 });
    expect(options.ownCoupons!.at(-1)).toEqual({ code: 'M0050', limit: 2000 });
    expect(options.demand.reduce((sum, d) => sum + d.users, 0)).toBe(1_000_000);
    expect(options).toMatchObject({ requests: 1_000_000, rate: 2500, maxSeconds: 600, linearity: false });
  });

  it('--redis-cluster: the local cluster on a Redis Cluster of its own (no private server besides, not with --url)', () => {
    expect(parse('--redis-cluster', '--memory')).toMatchObject({ redisCluster: true, privateRedis: false, memory: true });
    expect(parse()).toMatchObject({ redisCluster: false });
    expect(usageError('--redis-cluster', '--private-redis')).toMatch(/drop --private-redis/);
    expect(usageError('--redis-cluster', '--url', 'http://127.0.0.1:3000')).toMatch(/--redis-cluster configures the local cluster/);
  });

  it('splits remainders over the first coupons', () => {
    const { coupons, demand } = ownCoupons(3, 10, 7);
    expect(coupons.map((c) => c.limit)).toEqual([3, 2, 2]);
    expect(demand.map((d) => d.users)).toEqual([4, 3, 3]);
  });

  it('refuses what does not fit together, in one line', () => {
    expect(usageError('--coupons', '5')).toMatch(/--coupons K and --stock S go together/);
    expect(usageError('--coupons', '5', '--stock', '100', '--users', 'A0001=10')).toMatch(/--coupons wants --users N/);
    expect(usageError('--users', '1000')).toMatch(/without coupons/);
    expect(usageError('--coupons', '5', '--stock', '3', '--users', '100')).toMatch(/--stock must be a whole number from 5/);
    expect(usageError('--coupons', '5', '--stock', '100', '--users', '100', '--url', 'http://127.0.0.1:3000')).toMatch(/--coupons configures the local cluster/);
    expect(usageError('--linearity')).toMatch(/--linearity scales the run's own coupons/);
    expect(usageError('--linearity', '--coupons', '50', '--stock', '100', '--users', '1000')).toMatch(/tenth needs a stock of at least one per coupon/);
    expect(usageError('--rate', '0')).toMatch(/--rate must be a whole number from 1/);
    expect(usageError('--max-seconds', 'soon')).toMatch(/--max-seconds must be a whole number/);
  });

  it('--linearity: the tenth has a tenth of the users, stock and requests, everything else the same', () => {
    const options = parse('--users', '1000000', '--coupons', '50', '--stock', '100000', '--resubmit', '0', '--rate', '2500', '--linearity', '--json', 'x.json');
    const tenth = tenthOf(options);
    expect(tenth.demand.reduce((sum, d) => sum + d.users, 0)).toBe(100_000);
    expect(tenth.ownCoupons!.reduce((sum, c) => sum + c.limit, 0)).toBe(10_000);
    expect(tenth).toMatchObject({ requests: 100_000, rate: 2500, connections: options.connections, apis: options.apis, workers: options.workers, linearity: false, jsonFile: null });
  });

  it('compares the CPU per admitted ticket of the system\'s roles, load generator left out', () => {
    const report = (admitted: number, requests: number, perAdmittedUs: Record<string, number>) =>
      ({
        verdict: { ok: true, failures: [], requests, coupons: [{ demandUsers: requests, admitted }] },
        cpu: { perAdmittedUs, perRequestUs: Object.fromEntries(Object.entries(perAdmittedUs).map(([k, v]) => [k, (v * admitted) / requests])) },
      }) as unknown as BurstReport;
    const flat = compareRuns(report(10_000, 100_000, { api: 3000, worker: 700, redis: 400, postgres: 60, 'load generator': 2000 }), report(100_000, 1_000_000, { api: 3300, worker: 700, redis: 400, postgres: 60, 'load generator': 9000 }));
    expect(flat.small.perAdmittedUs).toBe(4160);
    expect(flat.perAdmittedChange).toBeCloseTo(300 / 4160, 5);
    expect(flat.linear).toBe(true);
    const steep = compareRuns(report(10_000, 100_000, { api: 3000, worker: 700, redis: 400, postgres: 60 }), report(100_000, 1_000_000, { api: 4000, worker: 700, redis: 400, postgres: 60 }));
    expect(steep.linear).toBe(false);
  });
});
