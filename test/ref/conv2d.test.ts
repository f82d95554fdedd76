/**
 * Convolution, pooling and channel-norm references: hand-checked entries and every backward
 * reference against central finite differences of its forward (float64).
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  conv2dGeometry,
  conv2dForwardRef,
  conv2dBackwardInputRef,
  conv2dBackwardWeightRef,
  conv2dBackwardWeightAccumulateRef,
  convFlops,
  type Conv2dOptions,
} from '../../src/ref/conv2d.js';
import {
  pool2dGeometry,
  maxPool2dForwardRef,
  maxPool2dBackwardRef,
  avgPool2dForwardRef,
  avgPool2dBackwardRef,
  type Pool2dOptions,
} from '../../src/ref/pool2d.js';
import { channelNormForwardRef, channelNormBackwardRef } from '../../src/ref/channel_norm.js';
import { fdGrad, expectClose, randn64, dot } from './fd.js';

interface ConvCase {
  name: string;
  dims: [N: number, Cin: number, H: number, W: number, Cout: number, KH: number, KW: number];
  opts: Conv2dOptions;
}

const CONV_CASES: ConvCase[] = [
  { name: '3×3 pad 1', dims: [2, 2, 5, 4, 3, 3, 3], opts: { padding: 1 } },
  { name: '3×2 stride (2, 1) pad (1, 2)', dims: [1, 3, 6, 5, 2, 3, 2], opts: { stride: [2, 1], padding: [1, 2] } },
  { name: '3×3 dilation 2 pad 2', dims: [2, 2, 6, 7, 2, 3, 3], opts: { dilation: 2, padding: 2 } },
  { name: '5×5 stride 2 pad 1 dilation (1, 2)', dims: [1, 2, 9, 11, 3, 5, 5], opts: { stride: 2, padding: 1, dilation: [1, 2] } },
  { name: '1×1', dims: [2, 3, 3, 2, 4, 1, 1], opts: {} },
];

describe('conv2d reference', () => {
  it('geometry, flops and a hand-computed entry', () => {
    const g = conv2dGeometry(1, 1, 4, 4, 1, 3, 3, { padding: 1, stride: 2 });
    expect([g.OH, g.OW]).toEqual([2, 2]);
    expect(conv2dGeometry(1, 1, 7, 7, 1, 3, 3, { dilation: 2 }).OH).toBe(3);
    expect(convFlops(conv2dGeometry(8, 64, 32, 32, 64, 3, 3, { padding: 1 })).forward).toBe(2 * 8 * 64 * 32 * 32 * 64 * 9);
    expect(() => conv2dGeometry(1, 1, 4, 4, 1, 3, 3, { stride: 0 })).toThrow(/stride/);
    // X = 1..16 in a 4×4 image, W = all ones 3×3, pad 1, stride 2: Y[0,0] = 1+2+5+6 = 14,
    // Y[0,1] = 2+3+4+6+7+8 = 30, Y[1,0] = 5+6+9+10+13+14 = 57, Y[1,1] = 6+7+8+10+11+12+14+15+16 = 99
    const x = Float64Array.from({ length: 16 }, (_, i) => i + 1);
    const y = conv2dForwardRef(x, new Float64Array(9).fill(1), Float64Array.of(0.5), g);
    expect(Array.from(y)).toEqual([14.5, 30.5, 57.5, 99.5]);
  });

  for (const c of CONV_CASES) {
    it(`${c.name}: dX, dW, db match finite differences`, () => {
      const [N, Cin, H, W, Cout, KH, KW] = c.dims;
      const g = conv2dGeometry(N, Cin, H, W, Cout, KH, KW, c.opts);
      const rng = new Rng(N * 100 + Cin * 10 + KH);
      const x = randn64(rng, N * Cin * H * W);
      const w = randn64(rng, Cout * Cin * KH * KW);
      const b = randn64(rng, Cout);
      const r = randn64(rng, N * Cout * g.OH * g.OW);
      const L = () => dot(r, conv2dForwardRef(x, w, b, g));
      expectClose(conv2dBackwardInputRef(r, w, g), fdGrad(L, x), 'dX');
      const { dw, db } = conv2dBackwardWeightRef(r, x, g, true);
      expectClose(dw, fdGrad(L, w), 'dW');
      expectClose(db!, fdGrad(L, b), 'db');
      const dw2 = new Float64Array(dw.length).fill(1);
      conv2dBackwardWeightAccumulateRef(r, x, null, g, dw2, null);
      expectClose(dw2, Array.from(dw, (v) => v + 1), 'dW accumulated', 1e-12, 0);
    });
  }

  it('two-input form: Y = conv(X1 + X2); dX1 = dX2 = dX, dW uses the sum', () => {
    const g = conv2dGeometry(2, 3, 5, 6, 2, 3, 3, { padding: 1, stride: [1, 2] });
    const rng = new Rng(5);
    const x1 = randn64(rng, 2 * 3 * 5 * 6);
    const x2 = randn64(rng, 2 * 3 * 5 * 6);
    const w = randn64(rng, 2 * 3 * 9);
    const r = randn64(rng, 2 * 2 * g.OH * g.OW);
    const sum = x1.map((v, i) => v + x2[i]!);
    expectClose(conv2dForwardRef(x1, w, null, g, x2), conv2dForwardRef(sum, w, null, g), 'Y', 1e-12, 0);
    const L = () => dot(r, conv2dForwardRef(x1, w, null, g, x2));
    const dx = conv2dBackwardInputRef(r, w, g);
    expectClose(dx, fdGrad(L, x1), 'dX1');
    expectClose(dx, fdGrad(L, x2), 'dX2');
    expectClose(conv2dBackwardWeightRef(r, x1, g, false, x2).dw, fdGrad(L, w), 'dW');
  });
});

/** Values without near-ties: a shuffled ramp (gaps 0.1) plus small noise. */
function distinct(rng: Rng, n: number): Float64Array {
  const perm = rng.permutation(n);
  return Float64Array.from(perm, (k) => (k - n / 2) * 0.1 + 0.01 * rng.uniform());
}

const POOL_CASES: { name: string; dims: [number, number, number, number]; opts: Pool2dOptions }[] = [
  { name: '2×2 stride 2', dims: [2, 3, 6, 5], opts: { kernel: 2 } },
  { name: '3×3 stride 2 pad 1 (overlapping)', dims: [1, 2, 7, 6], opts: { kernel: 3, stride: 2, padding: 1 } },
  { name: '3×2 stride (1, 2) pad (1, 0)', dims: [2, 1, 5, 7], opts: { kernel: [3, 2], stride: [1, 2], padding: [1, 0] } },
];

describe('pool2d reference', () => {
  it('hand-computed max and average', () => {
    const g = pool2dGeometry(1, 1, 3, 3, { kernel: 2, stride: 1 });
    const x = Float64Array.of(1, 5, 2, 3, 4, 9, 0, 8, 6);
    const m = maxPool2dForwardRef(x, g);
    expect(Array.from(m.y)).toEqual([5, 9, 8, 9]);
    expect(Array.from(m.argmax)).toEqual([1, 5, 7, 5]);
    expect(Array.from(maxPool2dBackwardRef(Float64Array.of(1, 2, 3, 4), m.argmax, g))).toEqual([0, 1, 0, 0, 0, 6, 0, 3, 0]);
    expect(Array.from(avgPool2dForwardRef(x, g))).toEqual([13 / 4, 20 / 4, 15 / 4, 27 / 4]);
    const gp = pool2dGeometry(1, 1, 3, 3, { kernel: 2, stride: 2, padding: 1, countIncludePad: false });
    expect(Array.from(avgPool2dForwardRef(x, gp))).toEqual([1, 3.5, 1.5, 6.75]);
  });

  for (const c of POOL_CASES) {
    it(`${c.name}: max and average backward match finite differences`, () => {
      const [N, C, H, W] = c.dims;
      const rng = new Rng(H * 10 + W);
      const x = distinct(rng, N * C * H * W);
      for (const countIncludePad of [true, false]) {
        const g = pool2dGeometry(N, C, H, W, { ...c.opts, countIncludePad });
        const r = randn64(rng, N * C * g.OH * g.OW);
        const La = () => dot(r, avgPool2dForwardRef(x, g));
        expectClose(avgPool2dBackwardRef(r, g), fdGrad(La, x), `avg dX (countIncludePad ${countIncludePad})`);
        if (!countIncludePad) continue;
        const Lm = () => dot(r, maxPool2dForwardRef(x, g).y);
        expectClose(maxPool2dBackwardRef(r, maxPool2dForwardRef(x, g).argmax, g), fdGrad(Lm, x), 'max dX');
      }
    });
  }
});

describe('channel norm reference', () => {
  it('normalises each sample and channel over H×W', () => {
    const [N, C, HW] = [2, 3, 5];
    const rng = new Rng(8);
    const x = randn64(rng, N * C * HW, 2, 1);
    const { y, mean, rstd } = channelNormForwardRef(x, new Float64Array(C).fill(1), new Float64Array(C), N, C, HW, 0);
    for (let p = 0; p < N * C; p++) {
      const s = y.subarray(p * HW, (p + 1) * HW);
      const mu = s.reduce((a, b) => a + b, 0) / HW;
      const v = s.reduce((a, b) => a + (b - mu) ** 2, 0) / HW;
      expect(mu).toBeCloseTo(0, 12);
      expect(v).toBeCloseTo(1, 10);
      expect(1 / rstd[p]! ** 2).toBeCloseTo(x.subarray(p * HW, (p + 1) * HW).reduce((a, b) => a + (b - mean[p]!) ** 2, 0) / HW, 10);
    }
  });

  for (const [N, C, HW] of [[2, 3, 6], [1, 2, 7], [3, 1, 4]] as const) {
    it(`N=${N} C=${C} HW=${HW}: dX, dγ, dβ match finite differences`, () => {
      const rng = new Rng(N * 31 + C * 7 + HW);
      const x = randn64(rng, N * C * HW, 1.5, 0.3);
      const gamma = randn64(rng, C, 0.5, 1);
      const beta = randn64(rng, C);
      const r = randn64(rng, N * C * HW);
      const eps = 1e-3;
      const L = () => dot(r, channelNormForwardRef(x, gamma, beta, N, C, HW, eps).y);
      const f = channelNormForwardRef(x, gamma, beta, N, C, HW, eps);
      const g = channelNormBackwardRef(r, x, gamma, f.mean, f.rstd, N, C, HW);
      expectClose(g.dx, fdGrad(L, x), 'dX', 1e-6, 1e-5);
      expectClose(g.dgamma, fdGrad(L, gamma), 'dγ');
      expectClose(g.dbeta, fdGrad(L, beta), 'dβ');
    });
  }
});
