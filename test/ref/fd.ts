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

/**
 * Checks an analytic gradient against central differences: every element of a tensor of up to 64,
 * else 48 elements spread over it (first, last and a seeded sample), to keep the test fast.
 */
export function checkFdSampled(analytic: ArrayLike<number> | undefined, L: () => number, a: Float64Array, label: string): void {
  if (analytic === undefined) throw new Error(`${label}: no analytic gradient`);
  if (analytic.length !== a.length) throw new Error(`${label}: length ${analytic.length}, expected ${a.length}`);
  let idx: number[];
  if (a.length <= 64) idx = Array.from({ length: a.length }, (_, i) => i);
  else {
    const rng = new Rng(a.length);
    const set = new Set<number>([0, a.length - 1]);
    while (set.size < 48) set.add(rng.int(a.length));
    idx = [...set].sort((p, q) => p - q);
  }
  const want = new Float64Array(idx.length);
  const got = new Float64Array(idx.length);
  idx.forEach((i, j) => {
    const v = a[i]!;
    const h = 1e-5;
    a[i] = v + h;
    const fp = L();
    a[i] = v - h;
    const fm = L();
    a[i] = v;
    want[j] = (fp - fm) / (2 * h);
    got[j] = analytic[i]!;
  });
  expectClose(got, want, `${label} (at ${idx.length} of ${a.length} elements)`);
}
