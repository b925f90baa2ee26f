// Other work on a shared machine comes and goes: each side of a ratio is measured in turns
// (A, B, A, B, …) so that drift hits both alike, and the best run of each side is kept (the
// least disturbed one), with every run's figure alongside.

/** Runs `a` and `b` in turns, `rounds` times each. */
export async function alternate<A, B>(rounds: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A[], B[]]> {
  const as: A[] = [];
  const bs: B[] = [];
  for (let round = 0; round < rounds; round++) {
    as.push(await a());
    bs.push(await b());
  }
  return [as, bs];
}

/** The run with the best `score` (highest, or lowest with `lowerIsBetter`), with every run's score as `repeats`. */
export function bestOf<T extends object>(runs: readonly T[], score: (run: T) => number, lowerIsBetter = false): T & { repeats: number[] } {
  if (runs.length === 0) throw new Error('bestOf: no runs');
  const scores = runs.map(score);
  let best = 0;
  scores.forEach((value, i) => {
    const current = scores[best]!;
    // NaN (not measured) never wins over a number.
    if (Number.isNaN(current) || (lowerIsBetter ? value < current : value > current)) best = i;
  });
  return { ...runs[best]!, repeats: scores };
}
