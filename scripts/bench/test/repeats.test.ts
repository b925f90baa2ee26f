import { describe, expect, it } from 'vitest';
import { alternate, bestOf } from '../src/repeats.ts';

describe('repeats', () => {
  it('measures the two sides in turns', async () => {
    const order: string[] = [];
    const [as, bs] = await alternate(
      3,
      async () => (order.push('a'), order.length),
      async () => (order.push('b'), order.length),
    );
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(as).toEqual([1, 3, 5]);
    expect(bs).toEqual([2, 4, 6]);
  });

  it('keeps the best run with every run alongside, and never picks an unmeasured one', () => {
    const runs = [{ rps: 2_100 }, { rps: 2_300 }, { rps: 1_900 }];
    expect(bestOf(runs, (r) => r.rps)).toEqual({ rps: 2_300, repeats: [2_100, 2_300, 1_900] });
    expect(bestOf(runs, (r) => r.rps, true)).toMatchObject({ rps: 1_900 });
    const times = [{ ms: Number.NaN }, { ms: 1_500 }, { ms: 1_400 }];
    expect(bestOf(times, (r) => r.ms, true)).toMatchObject({ ms: 1_400 });
    expect(() => bestOf([], () => 0)).toThrow();
  });
});
