/** Finite-difference and comparison helpers for the reference tests (float64). */
import { assertClose } from '../helpers/assert_close.js';
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

/**
 * |a − b| ≤ atol + rtol·|b| everywhere, with fd-test default tolerances: assertClose
 * (test/helpers/assert_close.ts), so a NaN or ±Infinity on either side fails; the message names
 * the first bad index and the largest difference.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, atol = 1e-6, rtol = 1e-5): void {
  assertClose(actual, expected, { atol, rtol, what: label });
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
