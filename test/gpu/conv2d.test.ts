/**
 * conv2d kernels vs the CPU reference on awkward shapes: batch 1, prime channel counts and
 * image sizes, 1×1 / 3×3 / 5×5 / 3×2 kernels, stride 2, padding 1–2, dilation 2, sizes that are
 * not multiples of any tile — under several tilings (with and without subgroups).
 */
import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { ShapeError } from '../../src/gpu/errors.js';
import {
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dForward,
  conv2dGeometry,
  convTuningFor,
  type Conv2dOptions,
  type ConvTiles,
} from '../../src/kernels/conv2d.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightAccumulateRef, conv2dForwardRef } from '../../src/ref/conv2d.js';

const tol = { atol: 1e-4, rtol: 1e-4 };

interface Case {
  dims: [N: number, Cin: number, H: number, W: number, Cout: number, KH: number, KW: number];
  opts: Conv2dOptions;
}

const CASES: Case[] = [
  { dims: [1, 3, 7, 5, 5, 3, 3], opts: { padding: 1 } },
  { dims: [2, 5, 11, 13, 7, 5, 5], opts: { stride: 2, padding: 2 } },
  { dims: [1, 7, 9, 10, 11, 3, 2], opts: { stride: [2, 1], padding: [1, 0], dilation: 2 } },
  { dims: [3, 13, 5, 3, 17, 1, 1], opts: {} },
  { dims: [2, 2, 8, 8, 3, 3, 3], opts: { padding: 2, dilation: 2 } },
  { dims: [1, 1, 6, 5, 1, 3, 3], opts: { padding: 1, stride: 2 } },
  { dims: [2, 17, 12, 11, 19, 3, 3], opts: { padding: 1 } },
];

const TILES: ConvTiles[] = [
  { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
  { ROWS: 1, COLS: 4, WG: 4, subgroups: false },
  { ROWS: 3, COLS: 8, WG: 12, subgroups: true },
  { ROWS: 2, COLS: 4, WG: 16, subgroups: false },
  { ROWS: 4, COLS: 8, WG: 64, subgroups: false }, // the 'default' (discrete GPU) row
];

describe('conv2d kernels vs CPU reference', () => {
  for (const [ti, tiles] of TILES.entries()) {
    it(`forward, input and weight gradients, tiles ${tiles.ROWS}x${tiles.COLS} wg ${tiles.WG} subgroups ${tiles.subgroups}`, async () => {
      const e = await getEngine();
      // every tiling sees the small cases; the largest only with the first two tilings
      for (const [ci, c] of CASES.entries()) {
        if (ti >= 2 && ci === CASES.length - 1) continue;
        const [N, Cin, H, W, Cout, KH, KW] = c.dims;
        const g = conv2dGeometry(N, Cin, H, W, Cout, KH, KW, c.opts);
        const rng = new Rng(ci * 100 + ti);
        const x = rng.normalArray(N * Cin * H * W);
        const w = rng.normalArray(Cout * Cin * KH * KW);
        const b = rng.normalArray(Cout);
        const dy = rng.normalArray(N * Cout * g.OH * g.OW);
        const dw0 = rng.normalArray(w.length);
        const db0 = rng.normalArray(Cout);
        const X = e.tensor([N, Cin, H, W], { label: 'x', data: x });
        const Wt = e.tensor([Cout, Cin, KH, KW], { label: 'w', data: w });
        const B = e.tensor([Cout], { label: 'b', data: b });
        const Y = e.tensor([N, Cout, g.OH, g.OW], { label: 'y' });
        const DY = e.tensor([N, Cout, g.OH, g.OW], { label: 'dy', data: dy });
        const DX = e.tensor([N, Cin, H, W], { label: 'dx' });
        const DW = e.tensor([Cout, Cin, KH, KW], { label: 'dw', data: dw0 });
        const DB = e.tensor([Cout], { label: 'db', data: db0 });
        e.run([
          conv2dForward(e, { x: X, w: Wt, bias: B, y: Y, tiles, ...c.opts }),
          conv2dBackwardInput(e, { dy: DY, w: Wt, dx: DX, tiles, ...c.opts }),
          conv2dBackwardWeight(e, { dy: DY, x: X, dw: DW, db: DB, tiles, ...c.opts }),
        ]);
        const [y, dx, dw, db] = await e.readMany([Y, DX, DW, DB]);
        const what = `case ${ci} ${JSON.stringify(c)}`;
        assertClose(y!, conv2dForwardRef(x, w, b, g), { ...tol, what: `Y ${what}` });
        assertClose(dx!, conv2dBackwardInputRef(dy, w, g), { ...tol, what: `dX ${what}` });
        const dwRef = Float32Array.from(dw0);
        const dbRef = Float32Array.from(db0);
        conv2dBackwardWeightAccumulateRef(dy, x, null, g, dwRef, dbRef);
        assertClose(dw!, dwRef, { ...tol, what: `dW ${what}` });
        assertClose(db!, dbRef, { ...tol, what: `db ${what}` });
        for (const t of [X, Wt, B, Y, DY, DX, DW, DB]) t.destroy();
      }
    });
  }

  it('two-input form, accumulate flags, no bias (adapter tiling)', async () => {
    const e = await getEngine();
    const rng = new Rng(9);
    const opts: Conv2dOptions = { padding: [1, 2], stride: [1, 2] };
    const [N, Cin, H, W, Cout, K] = [2, 5, 7, 9, 6, 3];
    const g = conv2dGeometry(N, Cin, H, W, Cout, K, K, opts);
    const x1 = rng.normalArray(N * Cin * H * W);
    const x2 = rng.normalArray(x1.length);
    const w = rng.normalArray(Cout * Cin * K * K);
    const y0 = rng.normalArray(N * Cout * g.OH * g.OW);
    const dy = rng.normalArray(y0.length);
    const dx0 = rng.normalArray(x1.length);
    const X1 = e.tensor([N, Cin, H, W], { label: 'x1', data: x1 });
    const X2 = e.tensor([N, Cin, H, W], { label: 'x2', data: x2 });
    const Wt = e.tensor([Cout, Cin, K, K], { label: 'w', data: w });
    const Y = e.tensor([N, Cout, g.OH, g.OW], { label: 'y', data: y0 });
    const DY = e.tensor([N, Cout, g.OH, g.OW], { label: 'dy', data: dy });
    const DX = e.tensor([N, Cin, H, W], { label: 'dx', data: dx0 });
    const DW = e.tensor([Cout, Cin, K, K], { label: 'dw' });
    e.run([
      conv2dForward(e, { x: X1, x2: X2, w: Wt, y: Y, accumulate: true, ...opts }),
      conv2dBackwardInput(e, { dy: DY, w: Wt, dx: DX, accumulate: true, ...opts }),
      conv2dBackwardWeight(e, { dy: DY, x: X1, x2: X2, dw: DW, ...opts }),
    ]);
    const [y, dx, dw] = await e.readMany([Y, DX, DW]);
    const yRef = conv2dForwardRef(x1, w, null, g, x2).map((v, i) => v + y0[i]!);
    assertClose(y!, yRef, { ...tol, what: 'Y += conv(X1 + X2)' });
    assertClose(dx!, conv2dBackwardInputRef(dy, w, g).map((v, i) => v + dx0[i]!), { ...tol, what: 'dX +=' });
    const dwRef = new Float32Array(w.length);
    conv2dBackwardWeightAccumulateRef(dy, x1, x2, g, dwRef, null);
    assertClose(dw!, dwRef, { ...tol, what: 'dW with X1 + X2' });
    expect(convTuningFor(e).forward.WG % 4).toBe(0);
  });

  it('shape mismatches throw ShapeError naming both shapes before any dispatch', async () => {
    const e = await getEngine();
    const X = e.tensor([2, 3, 8, 8], { label: 'x' });
    const W = e.tensor([4, 5, 3, 3], { label: 'w' });
    const W3 = e.tensor([4, 3, 3, 3], { label: 'w3' });
    const Y = e.tensor([2, 4, 8, 8], { label: 'y' });
    const Ybad = e.tensor([2, 4, 6, 6], { label: 'ybad' });
    const X2 = e.tensor([2, 3, 8, 7], { label: 'x2' });
    const Bbad = e.tensor([3], { label: 'bbad' });
    expect(() => conv2dForward(e, { x: X, w: W, y: Y, padding: 1 })).toThrow(ShapeError);
    expect(() => conv2dForward(e, { x: X, w: W, y: Y, padding: 1 })).toThrow(/\[2, 3, 8, 8\].*\[4, 5, 3, 3\]/);
    expect(() => conv2dForward(e, { x: X, w: W3, y: Ybad, padding: 1 })).toThrow(/\[2, 4, 6, 6\].*\[2, 4, 8, 8\]/);
    expect(() => conv2dForward(e, { x: X, x2: X2, w: W3, y: Y, padding: 1 })).toThrow(/\[2, 3, 8, 8\].*\[2, 3, 8, 7\]/);
    expect(() => conv2dForward(e, { x: X, w: W3, bias: Bbad, y: Y, padding: 1 })).toThrow(/\[3\].*\[4\]/);
    expect(() => conv2dForward(e, { x: X, w: W3, y: Y })).toThrow(ShapeError); // unpadded output is 6×6
    expect(() => conv2dBackwardInput(e, { dy: Ybad, w: W3, dx: X, padding: 1 })).toThrow(/\[2, 4, 6, 6\].*\[2, 4, 8, 8\]/);
    expect(() => conv2dBackwardWeight(e, { dy: Y, x: X, dw: W, padding: 1 })).toThrow(ShapeError);
    expect(() => conv2dForward(e, { x: e.tensor([3, 8, 8], { label: 'x3d' }), w: W3, y: Y })).toThrow(/4-D/);
    expect(() => conv2dForward(e, { x: X, w: e.tensor([4, 3, 11, 11], { label: 'wbig' }), y: Y })).toThrow(/does not fit/);
    await e.flushErrors();
  });
});
