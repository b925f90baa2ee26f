import { describe, expect, it } from 'vitest';
import { UsageError } from '@coupons/harness/cli';
import { parseBenchArgs } from '../src/cli-args.ts';

const parse = (...argv: string[]) => parseBenchArgs(argv);

describe('parseBenchArgs', () => {
  it('defaults to the full run, and --quick shrinks it', () => {
    expect(parse()).toMatchObject({ preset: 'full', connections: 100, acceptRequests: 20_000, drainJobs: 20_000, seedUsers: 10_000, scalingWorkers: [1, 2, 4] });
    expect(parse('--quick')).toMatchObject({ preset: 'quick', acceptRequests: 4_000, seedUsers: 500, scalingWorkers: [1, 2] });
    expect(parse('--quick', '--seed-users', '2000', '--scaling', '1,3', '--only', 'seed,scaling', '--json', 'out.json')).toMatchObject({
      seedUsers: 2_000,
      scalingWorkers: [1, 3],
      phases: ['seed', 'scaling'],
      jsonFile: 'out.json',
    });
  });

  it('has the durability phase, its own counts, and a smaller one under --quick', () => {
    expect(parse()).toMatchObject({ durabilityAdmissions: 20_000, durabilityInFlight: 200, phases: ['accept', 'auth', 'cost', 'linearity', 'drain', 'seed', 'scaling', 'durability', 'sse'], auth: 'trusted-header' });
    expect(parse('--quick')).toMatchObject({ durabilityAdmissions: 2_000, repeat: 1 });
    expect(parse('--only', 'durability', '--admissions', '8000', '--in-flight', '50', '--repeat', '3')).toMatchObject({
      phases: ['durability'],
      durabilityAdmissions: 8_000,
      durabilityInFlight: 50,
      repeat: 3,
    });
    expect(() => parse('--in-flight', '0')).toThrow(/--in-flight must be a whole number/);
  });

  it('has the sse phase and its stream count, smaller under --quick', () => {
    expect(parse()).toMatchObject({ sseStreams: 10_000 });
    expect(parse('--quick')).toMatchObject({ sseStreams: 1_000 });
    expect(parse('--only', 'sse', '--sse-streams', '500')).toMatchObject({ phases: ['sse'], sseStreams: 500 });
    expect(() => parse('--sse-streams', '0')).toThrow(/--sse-streams must be a whole number/);
  });

  it('has the cost phase and its size, smaller under --quick', () => {
    expect(parse()).toMatchObject({ costAdmissions: 20_000 });
    expect(parse('--quick')).toMatchObject({ costAdmissions: 4_000 });
    expect(parse('--only', 'cost', '--cost-admissions', '200000')).toMatchObject({ phases: ['cost'], costAdmissions: 200_000 });
    expect(() => parse('--cost-admissions', '5')).toThrow(/--cost-admissions must be a whole number/);
  });

  it('has the linearity phase: a small and a ten times larger size, both smaller under --quick', () => {
    expect(parse()).toMatchObject({ linearityAdmissions: [20_000, 200_000] });
    expect(parse('--quick')).toMatchObject({ linearityAdmissions: [2_000, 20_000] });
    expect(parse('--only', 'linearity', '--linearity-admissions', '1000,5000')).toMatchObject({ phases: ['linearity'], linearityAdmissions: [1_000, 5_000] });
    expect(() => parse('--linearity-admissions', '5000,1000')).toThrow(/LARGE > SMALL/);
    expect(() => parse('--linearity-admissions', '5000')).toThrow(/LARGE > SMALL/);
  });

  it('runs the auth phase and takes --auth for P1 and the seed scenario', () => {
    expect(parse('--only', 'auth', '--auth', 'jwt')).toMatchObject({ phases: ['auth'], auth: 'jwt' });
    expect(() => parse('--auth', 'oauth')).toThrow(/--auth must be one of jwt, gateway, trusted-header/);
  });

  it('refuses what it cannot run, in one line', () => {
    expect(() => parse('--only', 'p1')).toThrow(UsageError);
    expect(() => parse('--connections', '0')).toThrow(/--connections must be a whole number/);
    expect(() => parse('--scaling', '1,x')).toThrow(/--scaling/);
    expect(() => parse('--what')).toThrow(UsageError);
    expect(parse('--help')).toBe('help');
  });
});
