/**
 * assertClose passes when |a − b| ≤ atol + rtol·|b| everywhere (b is the reference). On failure
 * the message gives the first bad index, both values, the largest difference and the count of
 * mismatches (llm.c validate_result).
 *
 * A non-finite expected value (NaN, ±Infinity) is always a mismatch: a reference that is not a
 * number checks nothing, and ±Infinity would make the tolerance infinite. So is any pair whose
 * difference is NaN (a NaN on either side) or infinite. Written as `!(d <= tol)` so that a NaN
 * fails instead of slipping through a `d > tol` test.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol: number; rtol: number; what?: string },
): void {
  const what = opts.what ?? 'values';
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  let bad = 0;
  let nonFinite = 0;
  let first = -1;
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const d = Math.abs(a - b);
    if (!Number.isFinite(b) || !Number.isFinite(a)) {
      bad++;
      nonFinite++;
      if (first < 0) first = i;
      continue;
    }
    if (d > maxDiff) maxDiff = d;
    if (!(d <= opts.atol + opts.rtol * Math.abs(b))) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    const nf = nonFinite > 0 ? ` (${nonFinite} with a non-finite value)` : '';
    throw new Error(
      `${what}: ${bad} of ${actual.length} mismatches${nf} (atol ${opts.atol}, rtol ${opts.rtol}); first at [${first}]: got ${actual[first]}, expected ${expected[first]}; max |diff| ${maxDiff}`,
    );
  }
}
