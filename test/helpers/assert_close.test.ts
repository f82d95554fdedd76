/** The comparison helper itself: it must be able to fail. */
import { describe, expect, it } from 'vitest';
import { assertClose } from './assert_close.js';
import { expectClose } from '../ref/fd.js';
import { validateClose } from '../../bench/common.js';

const tol = { atol: 1e-6, rtol: 1e-4 };

describe('assertClose', () => {
  it('passes within atol + rtol·|expected|, fails just outside', () => {
    expect(() => assertClose([1, -2, 0], [1 + 5e-5, -2 - 1e-4, 1e-6], tol)).not.toThrow();
    expect(() => assertClose([1.001], [1], tol)).toThrow(/1 of 1 mismatches.*first at \[0\]: got 1\.001, expected 1/);
    expect(() => assertClose([0, 0], [0, 2e-6], { ...tol, what: 'W' })).toThrow(/^W: 1 of 2 mismatches/);
  });

  it('fails on a non-finite expected value, even when the actual value is the same', () => {
    for (const b of [NaN, Infinity, -Infinity]) {
      expect(() => assertClose([b], [b], tol), `expected ${b}`).toThrow(/non-finite/);
      expect(() => assertClose([1], [b], tol), `expected ${b}`).toThrow(/non-finite/);
    }
  });

  it('fails on a NaN or infinite actual value', () => {
    for (const a of [NaN, Infinity, -Infinity]) expect(() => assertClose([0, a], [0, 1], tol), `actual ${a}`).toThrow(/1 of 2 mismatches \(1 with a non-finite value\)/);
  });

  it('fails on a NaN tolerance rather than passing', () => {
    expect(() => assertClose([1], [1.5], { atol: NaN, rtol: 0 })).toThrow(/mismatches/);
  });

  it('fails on different lengths', () => {
    expect(() => assertClose([1, 2], [1], tol)).toThrow(/length 2, expected 1/);
  });
});

/** Every entry point to the one closeness check, with its own defaults where it has them. */
const ENTRY_POINTS: [string, (a: ArrayLike<number>, b: ArrayLike<number>) => void][] = [
  ['assertClose', (a, b) => assertClose(a, b, tol)],
  ['assertClose (rtol 0)', (a, b) => assertClose(a, b, { atol: 1e-6, rtol: 0 })],
  ['expectClose (test/ref/fd.ts)', (a, b) => expectClose(a, b, 'x')],
  ['expectClose (rtol 0)', (a, b) => expectClose(a, b, 'x', 1e-6, 0)],
  ['validateClose (bench/common.ts)', (a, b) => validateClose(a, b, 'x')],
  ['validateClose (rtol 0)', (a, b) => validateClose(a, b, 'x', 1e-3, 0)],
];

describe('every closeness entry point is NaN- and infinity-strict', () => {
  for (const [name, check] of ENTRY_POINTS) {
    it(name, () => {
      expect(() => check([1, 2], [1, 2]), 'equal finite values').not.toThrow();
      for (const v of [NaN, Infinity, -Infinity]) {
        // a non-finite expected value: against a finite actual value, and against itself
        expect(() => check([1, 0], [1, v]), `expected ${v}, actual 0`).toThrow(/non-finite/);
        expect(() => check([1, 1e30], [1, v]), `expected ${v}, actual 1e30`).toThrow(/non-finite/);
        expect(() => check([1, v], [1, v]), `expected ${v}, actual ${v}`).toThrow(/non-finite/);
        // a non-finite actual value against a finite expected one
        expect(() => check([1, v], [1, 0]), `actual ${v}`).toThrow(/non-finite/);
        expect(() => check([v, 1], [1e30, 1]), `actual ${v}, expected 1e30`).toThrow(/non-finite/);
      }
    });
  }
});
