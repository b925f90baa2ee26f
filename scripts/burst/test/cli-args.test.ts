import { describe, expect, it } from 'vitest';
import { UsageError } from '@coupons/harness/cli';
import { parseBurstArgs } from '../src/cli-args.ts';

const parse = (...argv: string[]) => parseBurstArgs(argv);
const usageError = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('parseBurstArgs', () => {
  it('defaults to the full three-coupon event on a local cluster of 2 APIs and 2 workers', () => {
    expect(parse()).toMatchObject({
      preset: 'event',
      demand: [
        { code: 'A0001', users: 2000 },
        { code: 'B0001', users: 4000 },
        { code: 'C0001', users: 13000 },
      ],
      resubmitRate: 0.2,
      requests: 23750,
      connections: 100,
      urls: [],
      apis: 2,
      workers: 2,
      deadlineSeconds: 120,
      jsonFile: null,
    });
  });

  it('has the seed scenario and a smoke preset, and flags override presets', () => {
    expect(parse('--preset', 'seed')).toMatchObject({ demand: [{ code: 'A0001', users: 10000 }], requests: 10000, resubmitRate: 0 });
    expect(parse('--smoke', '--workers', '3')).toMatchObject({ preset: 'smoke', demand: [{ code: 'A0001', users: 600 }], apis: 1, workers: 3 });
    expect(parse('--', '--users', 'A0001=100,B0001=50', '--requests', '200', '--json', 'out.json')).toMatchObject({
      requests: 200,
      resubmitRate: 0.25,
      connections: 100,
      jsonFile: 'out.json',
    });
    expect(parse('--users', 'A0001=10', '--connections', '50')).toMatchObject({ connections: 13 }); // never more than requests
  });

  it('runs the local cluster in the AUTH_MODE --auth names (default trusted-header), never against --url', () => {
    expect(parse()).toMatchObject({ auth: 'trusted-header' });
    expect(parse('--smoke', '--auth', 'jwt')).toMatchObject({ auth: 'jwt', preset: 'smoke' });
    expect(parse('--auth', 'gateway')).toMatchObject({ auth: 'gateway' });
    expect(usageError('--auth', 'basic')).toMatch(/^--auth must be one of jwt, gateway, trusted-header/);
    expect(usageError('--auth', 'jwt', '--url', 'http://127.0.0.1:3000')).toMatch(/only a local cluster trusts/);
  });

  it('answers --help with the usage', () => {
    expect(parse('--help')).toBe('help');
  });

  it('targets running APIs with --url', () => {
    expect(parse('--url', 'http://127.0.0.1:3000/,http://127.0.0.1:3001', '--database-url', 'postgres://postgres@127.0.0.1/coupons')).toMatchObject({
      urls: ['http://127.0.0.1:3000', 'http://127.0.0.1:3001'],
      databaseUrl: 'postgres://postgres@127.0.0.1/coupons',
    });
  });

  it('answers bad flags with one clear line', () => {
    expect(usageError('--bogus')).toMatch(/^Unknown option '--bogus' \(see --help\)$/);
    expect(usageError('--connections', 'many')).toBe('--connections must be a whole number from 1 to 10000, got "many"');
    expect(usageError('--resubmit', '1')).toBe('--resubmit must be a share from 0 to below 1 (e.g. 0.2), got "1"');
    expect(usageError('--users', 'a0001=5')).toMatch(/^--users wants CODE=N/);
    expect(usageError('--users', 'A0001=5', '--requests', '4')).toMatch(/below the 5 distinct users/);
    expect(usageError('--url', 'localhost:3000x')).toMatch(/^--url must be/);
    expect(usageError('--url', 'http://127.0.0.1:3000', '--api', '2')).toMatch(/cannot be combined with --url/);
    expect(usageError('--database-url', 'postgres://x')).toMatch(/only goes with --url/);
    expect(usageError('--preset', 'huge')).toBe('--preset must be one of event, seed, smoke, got "huge"');
    expect(usageError('--requests', '100', '--resubmit', '0.1')).toMatch(/not both/);
    for (const message of [usageError('--bogus'), usageError('--timeout', '-1')]) expect(message).not.toContain('\n');
  });
});
