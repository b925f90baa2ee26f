import { describe, expect, it } from 'vitest';
import { UsageError } from '@coupons/harness/cli';
import { parseClusterArgs } from '../src/cli-args.ts';

describe('parseClusterArgs', () => {
  it('reads --api and --workers, with defaults', () => {
    expect(parseClusterArgs(['--api', '2', '--workers', '4'])).toEqual({ apis: 2, workers: 4 });
    expect(parseClusterArgs([])).toEqual({ apis: 2, workers: 2 });
    expect(parseClusterArgs(['--workers', '0'])).toEqual({ apis: 2, workers: 0 });
    expect(parseClusterArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--api', '0']],
    [['--api', 'two']],
    [['--workers', '-1']],
    [['--workers', '1000']],
    [['--replicas', '3']],
    [['extra']],
  ])('refuses %j in one line', (argv) => {
    expect(() => parseClusterArgs(argv)).toThrow(UsageError);
  });
});
