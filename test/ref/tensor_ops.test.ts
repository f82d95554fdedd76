/**
 * Graph-node references (src/ref/tensor_ops.ts): hand-checked small cases, and every backward
 * reference against central finite differences of its forward (float64, loss = Σ w·y with seeded
 * random w).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.js';
import {
  addRef,
  channelCopyRef,
  concatChannelsBackwardRef,
  concatChannelsRef,
  splitChannelsBackwardRef,
  splitChannelsRef,
  upsample2xBackwardRef,
  upsample2xRef,
} from '../../src/ref/tensor_ops.js';
import { dot, expectClose, fdGrad, randn64 } from './fd.js';

describe('tensor_ops reference: hand cases', () => {
  it('addRef', () => {
    expect(Array.from(addRef(Float64Array.of(1, 2, 3), Float64Array.of(10, 20, 30)))).toEqual([11, 22, 33]);
    expect(() => addRef(new Float64Array(3), new Float64Array(2))).toThrow(/has 2 numbers, expected 3/);
  });

  it('channelCopyRef: =, +=, zeroRest, and only the copied range touched otherwise', () => {
    // src (B 2, Cs 3, P 2) = 1..12; copy channels [1, 3) into dst (B 2, Cd 4, P 2) at channel 1
    const src = Float64Array.from({ length: 12 }, (_, i) => i + 1);
    const args = { batch: 2, positions: 2, srcChannels: 3, dstChannels: 4, srcOffset: 1, dstOffset: 1, count: 2 };
    const pre = () => new Float64Array(16).fill(100);
    // batch 0: src channels 1, 2 = [3, 4], [5, 6]; batch 1: [9, 10], [11, 12]
    expect(Array.from(channelCopyRef(src, pre(), { ...args, accumulate: false }))).toEqual([
      100, 100, 3, 4, 5, 6, 100, 100,
      100, 100, 9, 10, 11, 12, 100, 100,
    ]);
    expect(Array.from(channelCopyRef(src, pre(), { ...args, accumulate: true }))).toEqual([
      100, 100, 103, 104, 105, 106, 100, 100,
      100, 100, 109, 110, 111, 112, 100, 100,
    ]);
    expect(Array.from(channelCopyRef(src, pre(), { ...args, accumulate: false, zeroRest: true }))).toEqual([
      0, 0, 3, 4, 5, 6, 0, 0,
      0, 0, 9, 10, 11, 12, 0, 0,
    ]);
    expect(() => channelCopyRef(src, pre(), { ...args, count: 3, accumulate: false })).toThrow(/do not fit/);
    expect(() => channelCopyRef(src, pre(), { ...args, accumulate: true, zeroRest: true })).toThrow(/zeroRest/);
  });

  it('concat and split, P = 1 and P = 2', () => {
    // two inputs (B 2, C 1 and C 2, P 1): y rows are [a_b, c_b0, c_b1]
    const a = Float64Array.of(1, 2);
    const c = Float64Array.of(10, 11, 20, 21);
    expect(Array.from(concatChannelsRef([a, c], [1, 2], 2, 1))).toEqual([1, 10, 11, 2, 20, 21]);
    const [da, dc] = concatChannelsBackwardRef(Float64Array.of(1, 10, 11, 2, 20, 21), [1, 2], 2, 1);
    expect(Array.from(da!)).toEqual([1, 2]);
    expect(Array.from(dc!)).toEqual([10, 11, 20, 21]);
    // x (B 1, C 3, P 2) = [[1, 2], [3, 4], [5, 6]]: channels [1, 3)
    const x = Float64Array.of(1, 2, 3, 4, 5, 6);
    expect(Array.from(splitChannelsRef(x, 3, 1, 2, 1, 2))).toEqual([3, 4, 5, 6]);
    expect(Array.from(splitChannelsBackwardRef(Float64Array.of(7, 8, 9, 10), 3, 1, 2, 1, 2))).toEqual([0, 0, 7, 8, 9, 10]);
    expect(Array.from(splitChannelsBackwardRef(Float64Array.of(7, 8), 3, 0, 1, 1, 2))).toEqual([7, 8, 0, 0, 0, 0]);
  });

  it('upsample2x of a 2×3 image, and its backward', () => {
    const x = Float64Array.of(1, 2, 3, 4, 5, 6); // (1, 1, 2, 3)
    expect(Array.from(upsample2xRef(x, 1, 1, 2, 3))).toEqual([
      1, 1, 2, 2, 3, 3,
      1, 1, 2, 2, 3, 3,
      4, 4, 5, 5, 6, 6,
      4, 4, 5, 5, 6, 6,
    ]);
    // dy = 0..23 in a 4×6 image: dx[i, j] = the sum of its 2×2 block
    const dy = Float64Array.from({ length: 24 }, (_, i) => i);
    expect(Array.from(upsample2xBackwardRef(dy, 1, 1, 2, 3))).toEqual([
      0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11,
      12 + 13 + 18 + 19, 14 + 15 + 20 + 21, 16 + 17 + 22 + 23,
    ]);
  });
});

describe('tensor_ops reference: backward vs finite differences', () => {
  it('add: dA = dB = dY', () => {
    const rng = new Rng(11);
    const a = randn64(rng, 13);
    const b = randn64(rng, 13);
    const w = randn64(rng, 13);
    const loss = () => dot(w, addRef(a, b));
    // the backward of add routes dY to both inputs: a plain copy (channelCopyRef with Cs = Cd = n, P = 1)
    const route = (dst: Float64Array) => channelCopyRef(w, dst, { batch: 1, positions: 13, srcChannels: 1, dstChannels: 1, srcOffset: 0, dstOffset: 0, count: 1, accumulate: false });
    expectClose(route(new Float64Array(13)), fdGrad(loss, a), 'dA', 1e-8, 1e-7);
    expectClose(route(new Float64Array(13)), fdGrad(loss, b), 'dB', 1e-8, 1e-7);
  });

  for (const [B, channels, P] of [
    [1, [2, 3], 5],
    [2, [1, 4, 2], 3],
    [3, [3, 1], 1],
  ] as [number, number[], number][]) {
    it(`concat B ${B}, channels ${channels.join(' + ')}, P ${P}`, () => {
      const rng = new Rng(B * 31 + P);
      const xs = channels.map((C) => randn64(rng, B * C * P));
      const Ct = channels.reduce((s, c) => s + c, 0);
      const w = randn64(rng, B * Ct * P);
      const loss = () => dot(w, concatChannelsRef(xs, channels, B, P));
      const grads = concatChannelsBackwardRef(w, channels, B, P);
      expect(grads.length).toBe(channels.length);
      for (const [k, x] of xs.entries()) expectClose(grads[k]!, fdGrad(loss, x), `dX_${k}`, 1e-8, 1e-7);
    });
  }

  for (const [B, C, start, count, P] of [
    [1, 5, 2, 3, 7],
    [2, 4, 0, 1, 3],
    [3, 6, 1, 4, 1],
  ] as [number, number, number, number, number][]) {
    it(`split B ${B}, C ${C}, channels [${start}, ${start + count}), P ${P}`, () => {
      const rng = new Rng(B * 100 + C * 10 + start);
      const x = randn64(rng, B * C * P);
      const w = randn64(rng, B * count * P);
      const loss = () => dot(w, splitChannelsRef(x, C, start, count, B, P));
      expectClose(splitChannelsBackwardRef(w, C, start, count, B, P), fdGrad(loss, x), 'dX', 1e-8, 1e-7);
    });
  }

  for (const [B, C, H, W] of [
    [1, 1, 1, 1],
    [2, 3, 2, 5],
    [1, 2, 3, 1],
  ] as [number, number, number, number][]) {
    it(`upsample2x (${B}, ${C}, ${H}, ${W})`, () => {
      const rng = new Rng(B + C * 7 + H * 13 + W * 17);
      const x = randn64(rng, B * C * H * W);
      const w = randn64(rng, B * C * 4 * H * W);
      const loss = () => dot(w, upsample2xRef(x, B, C, H, W));
      expectClose(upsample2xBackwardRef(w, B, C, H, W), fdGrad(loss, x), 'dX', 1e-8, 1e-7);
    });
  }
});
