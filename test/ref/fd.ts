/** Finite-difference and comparison helpers for the reference tests (float64). */
import { expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';

/** Central differences of f w.r.t. every element of a (a is perturbed in place and restored). */
export function fdGrad(f: () => number, a: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    a[i] = v + h;
    const fp = f();
    a[i] = v - h;
    const fm = f();
    a[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** |a − b| ≤ atol + rtol·|b| everywhere; the message names the first bad index and the worst error. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  atol = 1e-6,
  rtol = 1e-5,
): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let bad = -1;
  let maxdiff = 0;
  let nbad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const d = Math.abs(a - b);
    maxdiff = Math.max(maxdiff, d);
    if (!(d <= atol + rtol * Math.abs(b))) {
      nbad++;
      if (bad < 0) bad = i;
    }
  }
  if (nbad > 0) {
    expect.fail(
      `${label}: ${nbad}/${expected.length} mismatches, first at [${bad}]: got ${actual[bad]}, expected ${expected[bad]} (maxdiff ${maxdiff.toExponential(3)})`,
    );
  }
}

export function randn64(rng: Rng, n: number, std = 1, mean = 0): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = mean + std * rng.normal();
  return a;
}

export function randu64(rng: Rng, n: number, lo = 0, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.range(lo, hi);
  return a;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
