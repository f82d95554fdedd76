import { describe, expect, it } from 'vitest';
import { getEngine } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../src/kernels/matmul.js';
import { matmulBackwardInputRef, matmulBackwardWeightAccumulateRef, matmulForwardRef } from '../../src/ref/matmul.js';
import { ShapeError } from '../../src/gpu/errors.js';
import type { MatmulTiles } from '../../src/kernels/tuning.js';

const tol = { atol: 1e-4, rtol: 1e-4 };
// Shapes with 1, primes and sizes that are not multiples of any tile.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 13],
  [7, 11, 13],
  [17, 31, 29],
  [64, 64, 64],
  [33, 65, 127],
  [130, 3, 2],
];
const TILES: MatmulTiles[] = [
  { TM: 4, TN: 4, WG_X: 8, WG_Y: 8 },
  { TM: 1, TN: 1, WG_X: 4, WG_Y: 2 },
  { TM: 2, TN: 8, WG_X: 16, WG_Y: 4 },
];

/** Concatenate rows of two (M×K1) and (M×K2) matrices into M×(K1+K2). */
function catRows(a: Float32Array, b: Float32Array, M: number, K1: number, K2: number): Float32Array {
  const out = new Float32Array(M * (K1 + K2));
  for (let m = 0; m < M; m++) {
    out.set(a.subarray(m * K1, (m + 1) * K1), m * (K1 + K2));
    out.set(b.subarray(m * K2, (m + 1) * K2), m * (K1 + K2) + K1);
  }
  return out;
}

describe('matmul kernels vs CPU reference', () => {
  for (const tiles of TILES) {
    for (const [M, N, K] of SHAPES) {
      it(`forward, input and weight gradients M=${M} N=${N} K=${K} tiles ${tiles.TM}x${tiles.TN} wg ${tiles.WG_X}x${tiles.WG_Y}`, async () => {
        const e = await getEngine();
        const rng = new Rng(M * 1000 + N * 10 + K);
        const x = rng.normalArray(M * K);
        const w = rng.normalArray(N * K);
        const b = rng.normalArray(N);
        const dy = rng.normalArray(M * N);
        const dw0 = rng.normalArray(N * K);
        const db0 = rng.normalArray(N);
        const X = e.tensor([M, K], { label: 'x', data: x });
        const W = e.tensor([N, K], { label: 'w', data: w });
        const Bs = e.tensor([N], { label: 'b', data: b });
        const Y = e.tensor([M, N], { label: 'y' });
        const DY = e.tensor([M, N], { label: 'dy', data: dy });
        const DX = e.tensor([M, K], { label: 'dx' });
        const DW = e.tensor([N, K], { label: 'dw', data: dw0 });
        const DB = e.tensor([N], { label: 'db', data: db0 });
        e.run([
          matmulForward(e, { x: X, w: W, bias: Bs, y: Y, tiles }),
          matmulBackwardInput(e, { dy: DY, w: W, dx: DX, tiles }),
          matmulBackwardWeight(e, { dy: DY, x: X, dw: DW, db: DB, tiles }),
        ]);
        const [y, dx, dw, db] = await e.readMany([Y, DX, DW, DB]);
        assertClose(y!, matmulForwardRef(x, w, b, M, N, K), { ...tol, what: 'Y' });
        assertClose(dx!, matmulBackwardInputRef(dy, w, M, N, K), { ...tol, what: 'dX' });
        const dwRef = Float32Array.from(dw0);
        const dbRef = Float32Array.from(db0);
        matmulBackwardWeightAccumulateRef(dy, x, M, N, K, dwRef, dbRef);
        assertClose(dw!, dwRef, { ...tol, what: 'dW' });
        assertClose(db!, dbRef, { ...tol, what: 'db' });
        for (const t of [X, W, Bs, Y, DY, DX, DW, DB]) t.destroy();
      });
    }
  }

  it('concatenated input, accumulate flags and column offsets', async () => {
    const e = await getEngine();
    const rng = new Rng(7);
    const [M, N, K1, K2] = [9, 13, 5, 11];
    const x1 = rng.normalArray(M * K1);
    const x2 = rng.normalArray(M * K2);
    const w = rng.normalArray(N * (K1 + K2));
    const y0 = rng.normalArray(M * N);
    const dy = rng.normalArray(M * N);
    const dx20 = rng.normalArray(M * K2);
    const X1 = e.tensor([M, K1], { label: 'x1', data: x1 });
    const X2 = e.tensor([M, K2], { label: 'x2', data: x2 });
    const W = e.tensor([N, K1 + K2], { label: 'w', data: w });
    const Y = e.tensor([M, N], { label: 'y', data: y0 });
    const DY = e.tensor([M, N], { label: 'dy', data: dy });
    const DX1 = e.tensor([M, K1], { label: 'dx1' });
    const DX2 = e.tensor([M, K2], { label: 'dx2', data: dx20 });
    const DW = e.tensor([N, K1 + K2], { label: 'dw' });
    e.run([
      matmulForward(e, { x: X1, x2: X2, w: W, y: Y, accumulate: true }),
      matmulBackwardInput(e, { dy: DY, w: W, dx: DX1, colOffset: 0 }),
      matmulBackwardInput(e, { dy: DY, w: W, dx: DX2, colOffset: K1, accumulate: true }),
      matmulBackwardWeight(e, { dy: DY, x: X1, dw: DW, colOffset: 0 }),
      matmulBackwardWeight(e, { dy: DY, x: X2, dw: DW, colOffset: K1 }),
    ]);
    const [y, dx1, dx2, dw] = await e.readMany([Y, DX1, DX2, DW]);
    const xcat = catRows(x1, x2, M, K1, K2);
    const yRef = matmulForwardRef(xcat, w, null, M, N, K1 + K2).map((v, i) => v + y0[i]!);
    assertClose(y!, yRef, { ...tol, what: 'Y += [X1|X2]·Wᵀ' });
    const dxcat = matmulBackwardInputRef(dy, w, M, N, K1 + K2);
    const dx1Ref = new Float32Array(M * K1);
    const dx2Ref = new Float32Array(M * K2);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K1; k++) dx1Ref[m * K1 + k] = dxcat[m * (K1 + K2) + k]!;
      for (let k = 0; k < K2; k++) dx2Ref[m * K2 + k] = dxcat[m * (K1 + K2) + K1 + k]! + dx20[m * K2 + k]!;
    }
    assertClose(dx1!, dx1Ref, { ...tol, what: 'dX1' });
    assertClose(dx2!, dx2Ref, { ...tol, what: 'dX2 +=' });
    const dwRef = new Float32Array(N * (K1 + K2));
    matmulBackwardWeightAccumulateRef(dy, xcat, M, N, K1 + K2, dwRef, null);
    assertClose(dw!, dwRef, { ...tol, what: 'dW by column blocks' });
  });

  it('rejects mismatched shapes before dispatch, naming both shapes', async () => {
    const e = await getEngine();
    const X = e.tensor([4, 5], { label: 'x' });
    const W = e.tensor([3, 6], { label: 'w' });
    const Y = e.tensor([4, 3], { label: 'y' });
    expect(() => matmulForward(e, { x: X, w: W, y: Y })).toThrow(ShapeError);
    expect(() => matmulForward(e, { x: X, w: W, y: Y })).toThrow(/x \[4, 5\].*w.*\[3, 6\]/);
    const W2 = e.tensor([3, 5], { label: 'w2' });
    const Ybad = e.tensor([4, 4], { label: 'ybad' });
    expect(() => matmulForward(e, { x: X, w: W2, y: Ybad })).toThrow(/ybad has shape \[4, 4\], expected \[4, 3\]/);
    expect(() => matmulBackwardInput(e, { dy: Y, w: W2, dx: e.tensor([2, 5], { label: 'dx' }) })).toThrow(/dx has shape \[2, 5\]/);
  });
});
