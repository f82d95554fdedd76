/**
 * Small helpers shared by the CPU references (src/ref/*).
 *
 * Every reference is generic over the element type `A` (Float32Array or Float64Array): outputs are
 * allocated with the type of the reference's main input. Float32Array is the normal case (results
 * are computed in JS doubles and rounded to f32 when stored, like a GPU buffer); Float64Array is
 * what the finite-difference tests use, so that the same code can be differentiated numerically.
 */

/** A flat, row-major tensor. */
export type Arr = Float32Array | Float64Array;

/** A new zero-filled array of length n with the same element type as `like`. */
export function zerosLike<A extends Arr>(like: A, n: number): A {
  return (like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n)) as A;
}

/** A copy of `a` (same element type). */
export function copyArr<A extends Arr>(a: A): A {
  return a.slice() as A;
}

/** A copy of `a` converted to the element type of `like`. */
export function castLike<A extends Arr>(like: A, a: ArrayLike<number>): A {
  const out = zerosLike(like, a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  return out;
}

/** Logistic sigmoid, in doubles. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Throws unless `a` has exactly `n` elements; `what` names the tensor and its shape. */
export function checkLen(a: ArrayLike<number>, n: number, what: string): void {
  if (a.length !== n) throw new Error(`${what}: has ${a.length} numbers, expected ${n}`);
}

/** A copy of every array in a named map. */
export function copyMap<A extends Arr>(m: Readonly<Record<string, A>>): Record<string, A> {
  const out: Record<string, A> = {};
  for (const k of Object.keys(m)) out[k] = copyArr(m[k]!);
  return out;
}

/** A zero array of the same size for every entry in a named map. */
export function zerosMap<A extends Arr>(m: Readonly<Record<string, A>>): Record<string, A> {
  const out: Record<string, A> = {};
  for (const k of Object.keys(m)) out[k] = zerosLike(m[k]!, m[k]!.length);
  return out;
}

/** Every array of a named map converted to Float64Array (for finite-difference checks). */
export function toFloat64Map(m: Readonly<Record<string, Arr>>): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const k of Object.keys(m)) out[k] = Float64Array.from(m[k]!);
  return out;
}
