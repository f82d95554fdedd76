/**
 * assertClose passes when |a − b| ≤ atol + rtol·|b| everywhere (b is the reference). On failure
 * the message gives the first bad index, both values, the largest difference and the count of
 * mismatches (llm.c validate_result).
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol: number; rtol: number; what?: string },
): void {
  const what = opts.what ?? 'values';
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  let bad = 0;
  let first = -1;
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const d = Math.abs(a - b);
    if (!Number.isFinite(a) && Number.isFinite(b)) {
      bad++;
      if (first < 0) first = i;
      continue;
    }
    if (d > maxDiff) maxDiff = d;
    if (d > opts.atol + opts.rtol * Math.abs(b)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new Error(
      `${what}: ${bad} of ${actual.length} mismatches (atol ${opts.atol}, rtol ${opts.rtol}); first at [${first}]: got ${actual[first]}, expected ${expected[first]}; max |diff| ${maxDiff}`,
    );
  }
}
