import { describe, expect, it } from 'vitest';
import { UsageError } from '@coupons/harness/cli';
import { parseChaosArgs } from '../src/cli-args.ts';
import { selectScenarios } from '../src/run-chaos.ts';
import { SCENARIOS } from '../src/scenarios/index.ts';

const ids = SCENARIOS.map((s) => s.id);
const parse = (...argv: string[]) => parseChaosArgs(argv, ids);
const chosen = (...argv: string[]) => {
  const options = parse(...argv);
  if (options === 'help') throw new Error('help');
  return selectScenarios(options).map((s) => s.id);
};

describe('pnpm chaos flags', () => {
  it('runs every scenario and variant by default; --quick, one of each fault the worker tests do not cover', () => {
    expect(chosen()).toEqual(['0', '1', '2', '3-sigterm', '3-sigkill', '4-fast', '4-immediate', '5', '6a', '6b', '7', '8', '9-async', '9-replica', '10', '11-async', '11-replica']);
    expect(chosen('--quick')).toEqual(['2', '3-sigkill', '4-immediate', '6b', '7', '8', '10']);
  });

  it('selects by number (every variant) or by id, in run order', () => {
    expect(chosen('--only', '6,1')).toEqual(['1', '6a', '6b']);
    expect(chosen('--quick', '--only', '6,1')).toEqual(['1', '6b']);
    expect(chosen('--only', '3-sigterm,7')).toEqual(['3-sigterm', '7']);
    expect(chosen('--quick', '--only', '3')).toEqual(['3-sigkill']);
    expect(chosen('--quick', '--only', '3-sigterm')).toEqual(['3-sigterm']);
    expect(chosen('--quick', '--only', '9')).toEqual(['9-async', '9-replica']);
    expect(chosen('--only', '10,1')).toEqual(['1', '10']);
    expect(chosen('--only', '11')).toEqual(['11-async', '11-replica']);
    expect(chosen('--only', '11-async')).toEqual(['11-async']);
  });

  it('takes the AOF fsync policy and a JSON file', () => {
    expect(parse('--appendfsync', 'always', '--json', 'out.json')).toEqual({ only: [], quick: false, appendfsync: 'always', jsonFile: 'out.json' });
    expect(parse()).toMatchObject({ appendfsync: 'everysec', jsonFile: null });
    expect(parse('--help')).toBe('help');
  });

  it.each([
    [['--only', '12'], /--only takes scenario numbers or ids/],
    [['--only', '6c'], /not "6c"/],
    [['--appendfsync', 'no'], /everysec or always/],
    [['--json', ''], /--json needs a file name/],
    [['--fast'], /Unknown option/],
  ])('refuses %j with one clear line', (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });
});
