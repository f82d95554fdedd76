import { describe, expect, it } from 'vitest';
import { getEngine, skipUnless } from '../helpers/gpu.js';
import { assertClose } from '../helpers/assert_close.js';
import { Rng } from '../../src/util/rng.js';
import { deviceHasSubgroups4, matmulBackwardInput, matmulBackwardInputPair, matmulBackwardWeight, matmulBackwardWeightPair, matmulForward, matmulForwardPair } from '../../src/kernels/matmul.js';
import { Tensor } from '../../src/gpu/tensor.js';
import { matmulBackwardInputRef, matmulBackwardWeightAccumulateRef, matmulForwardRef } from '../../src/ref/matmul.js';
import { ShapeError } from '../../src/gpu/errors.js';
import {
  allMatmulTiles,
  isSharedTiles,
  matmulCandidates,
  matmulTilesName,
  parseMatmulTiles,
  sharedInvocations,
  sharedStorageBytes,
  tuningFor,
  type MatmulTiles,
  type RegisterTiles,
  type SharedTiles,
} from '../../src/kernels/tuning.js';
import type { Dispatch } from '../../src/gpu/kernel.js';

const tol = { atol: 1e-4, rtol: 1e-4 };
// Shapes [M, N, K] with 1, primes and sizes that are not multiples of any tile. Those marked
// with a multiple of 4 in N and K take the VEC4 path of every kernel; the rest the scalar path.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 13],
  [7, 11, 13],
  [17, 31, 29],
  [33, 65, 127],
  [130, 3, 2],
  [1, 4, 4],
  [5, 4, 8],
  [64, 64, 64],
  [13, 12, 20],
  [37, 36, 44],
  [99, 20, 132],
  [30, 28, 7],
];
// Every tiling of the tuning table, plus extremes of the defines (ROWS 1 and 4, COLS 4, 8, 16).
const EXTRA: RegisterTiles[] = [
  { ROWS: 1, COLS: 4, WG: 4, UNROLL: 2, subgroups: true },
  { ROWS: 4, COLS: 8, WG: 8, UNROLL: 2, subgroups: true },
  { ROWS: 2, COLS: 4, WG: 12, UNROLL: 1, subgroups: true },
  { ROWS: 3, COLS: 16, WG: 8, UNROLL: 2, subgroups: true },
  { ROWS: 4, COLS: 16, WG: 4, UNROLL: 1, subgroups: true },
];
// Which tilings run depends on the adapter (the one SNN_ADAPTER asks for, else the default).
// SwiftShader: every tiling of the table plus EXTRA, each with subgroups on and off. Any other
// adapter: the tilings its own tuning row chooses (as the launcher runs them there: with
// subgroups where the adapter has them, else the fallback without), plus the small EXTRA tiles
// (ROWS × COLS ≤ 8) with subgroups on and off. Lavapipe's LLVM compiles big
// tiles slowly (about 15 s a pipeline for 4×8, minutes for SwiftShader's fully unrolled 4×16 and
// 3×16, which no other row chooses), so those would take minutes of the suite for no coverage.
const engine = await getEngine();
const row = tuningFor(engine.ctx.info);
const ROW_TILES = [row.matmul.forward, row.matmul.backwardInput, row.matmul.backwardWeight].filter((t): t is RegisterTiles => !isSharedTiles(t));
const TABLE_TILES = allMatmulTiles().filter((t): t is RegisterTiles => !isSharedTiles(t));
const onSwiftShader = row.name === 'swiftshader';
const SMALL_EXTRA = EXTRA.filter((t) => t.ROWS * t.COLS <= 8);
function sameTiles(a: RegisterTiles, b: RegisterTiles): boolean {
  return a.ROWS === b.ROWS && a.COLS === b.COLS && a.WG === b.WG && a.UNROLL === b.UNROLL && a.subgroups === b.subgroups;
}
const unique = (ts: RegisterTiles[]) => ts.filter((t, i) => ts.findIndex((u) => sameTiles(u, t)) === i);
const withFlip = (t: RegisterTiles) => [t, { ...t, subgroups: !t.subgroups }];
const extraHere = onSwiftShader ? EXTRA : SMALL_EXTRA;
const TILINGS: RegisterTiles[] = onSwiftShader
  ? [...TABLE_TILES, ...EXTRA].flatMap(withFlip)
  : unique([...ROW_TILES, ...SMALL_EXTRA.flatMap(withFlip)]);
const tileName = (t: MatmulTiles) =>
  isSharedTiles(t) ? `shared ${matmulTilesName(t)}` : `${t.ROWS}x${t.COLS} wg ${t.WG} unroll ${t.UNROLL}${t.subgroups ? ' subgroups' : ''}`;
// The workgroup-memory tilings: every shared tiling the autotuner may choose or the table holds,
// on every adapter.
const SHARED: SharedTiles[] = [...matmulCandidates(), ...allMatmulTiles()]
  .filter(isSharedTiles)
  .filter((t, i, ts) => ts.findIndex((u) => matmulTilesName(u) === matmulTilesName(t)) === i);
// Shapes [M, N, K] for them: 1, primes, sizes that are not multiples of any tile and, in each
// output dimension of each kernel (M and N for Y, M and K for dX, N and K for dW), one size past
// the biggest block (128) so several workgroups meet at edges; small enough for SwiftShader.
const SHARED_SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 3],
  [5, 1, 13],
  [7, 11, 13],
  [17, 31, 29],
  [33, 65, 127],
  [130, 3, 2],
  [13, 12, 20],
  [30, 28, 7],
  [9, 131, 133],
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

/** Check that a dispatch was built with (or without) a define. */
function expectDefine(d: Dispatch, name: string, present: boolean): void {
  expect(d.kernel.variant.defines?.[name] !== undefined, `${d.kernel.key}: ${name} ${present ? 'expected' : 'unexpected'}`).toBe(present);
}

describe('matmul kernels vs CPU reference', () => {
  it('the SwiftShader adapter offers subgroups of 4 (so the SUBGROUPS variants below are exercised)', async (ctx) => {
    const e = await getEngine();
    skipUnless(ctx, e.ctx.info.architecture.includes('swiftshader'), `a property of SwiftShader; the adapter is "${e.ctx.info.name}"`);
    expect(deviceHasSubgroups4(e)).toBe(true);
  });

  for (const tiles of TILINGS) {
    it(`forward, input and weight gradients on every shape, tiles ${tileName(tiles)}, VEC4 and scalar paths`, async () => {
      const e = await getEngine();
      const sg = tiles.subgroups && deviceHasSubgroups4(e);
      for (const [M, N, K] of SHAPES) {
        const vec4Shape = N % 4 === 0 && K % 4 === 0;
        for (const vec4 of vec4Shape ? [true, false] : [false]) {
          const what = `M=${M} N=${N} K=${K} ${vec4 ? 'VEC4' : 'scalar'} tiles ${tileName(tiles)}`;
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
          const ds = [
            matmulForward(e, { x: X, w: W, bias: Bs, y: Y, tiles, vec4 }),
            matmulBackwardInput(e, { dy: DY, w: W, dx: DX, tiles, vec4 }),
            matmulBackwardWeight(e, { dy: DY, x: X, dw: DW, db: DB, tiles, vec4 }),
          ];
          for (const d of ds) {
            expectDefine(d, 'VEC4', vec4);
            expectDefine(d, 'SUBGROUPS', sg);
          }
          e.run(ds);
          const [y, dx, dw, db] = await e.readMany([Y, DX, DW, DB]);
          assertClose(y!, matmulForwardRef(x, w, b, M, N, K), { ...tol, what: `Y, ${what}` });
          assertClose(dx!, matmulBackwardInputRef(dy, w, M, N, K), { ...tol, what: `dX, ${what}` });
          const dwRef = Float32Array.from(dw0);
          const dbRef = Float32Array.from(db0);
          matmulBackwardWeightAccumulateRef(dy, x, M, N, K, dwRef, dbRef);
          assertClose(dw!, dwRef, { ...tol, what: `dW, ${what}` });
          assertClose(db!, dbRef, { ...tol, what: `db, ${what}` });
          for (const t of [X, W, Bs, Y, DY, DX, DW, DB]) t.destroy();
        }
      }
    });
  }

  for (const tiles of SHARED) {
    it(`workgroup-memory kernels, tiles ${tileName(tiles)}: forward, input and weight gradients on every shape, bias and accumulate on and off`, async () => {
      const e = await getEngine();
      for (const [M, N, K] of SHARED_SHAPES) {
        for (const withBias of [true, false]) {
          // with bias: Y = and dX = ; without: Y += and dX += (dW always +=)
          const accumulate = !withBias;
          const what = `M=${M} N=${N} K=${K} ${withBias ? 'bias, =' : 'no bias, +='} tiles ${tileName(tiles)}`;
          const rng = new Rng(M * 1000 + N * 10 + K + (withBias ? 0 : 7));
          const x = rng.normalArray(M * K);
          const w = rng.normalArray(N * K);
          const b = rng.normalArray(N);
          const dy = rng.normalArray(M * N);
          const y0 = rng.normalArray(M * N);
          const dx0 = rng.normalArray(M * K);
          const dw0 = rng.normalArray(N * K);
          const db0 = rng.normalArray(N);
          const X = e.tensor([M, K], { label: 'x', data: x });
          const W = e.tensor([N, K], { label: 'w', data: w });
          const Bs = e.tensor([N], { label: 'b', data: b });
          const Y = e.tensor([M, N], { label: 'y', data: y0 });
          const DY = e.tensor([M, N], { label: 'dy', data: dy });
          const DX = e.tensor([M, K], { label: 'dx', data: dx0 });
          const DW = e.tensor([N, K], { label: 'dw', data: dw0 });
          const DB = e.tensor([N], { label: 'db', data: db0 });
          const ds = [
            matmulForward(e, { x: X, w: W, bias: withBias ? Bs : null, y: Y, accumulate, tiles }),
            matmulBackwardInput(e, { dy: DY, w: W, dx: DX, accumulate, tiles }),
            matmulBackwardWeight(e, { dy: DY, x: X, dw: DW, db: withBias ? DB : null, tiles }),
          ];
          for (const d of ds) {
            expect(d.kernel.spec.file, d.kernel.key).toBe('matmul_shared.wgsl');
            expect(d.kernel.define('BM'), d.kernel.key).toBe(tiles.BM);
            expect(d.kernel.define('TN'), d.kernel.key).toBe(tiles.TN);
          }
          e.run(ds);
          const [y, dx, dw, db] = await e.readMany([Y, DX, DW, DB]);
          const yRef = matmulForwardRef(x, w, withBias ? b : null, M, N, K);
          if (accumulate) for (let i = 0; i < yRef.length; i++) yRef[i]! += y0[i]!;
          assertClose(y!, yRef, { ...tol, what: `Y, ${what}` });
          const dxRef = matmulBackwardInputRef(dy, w, M, N, K);
          if (accumulate) for (let i = 0; i < dxRef.length; i++) dxRef[i]! += dx0[i]!;
          assertClose(dx!, dxRef, { ...tol, what: `dX, ${what}` });
          const dwRef = Float32Array.from(dw0);
          const dbRef = Float32Array.from(db0);
          matmulBackwardWeightAccumulateRef(dy, x, M, N, K, dwRef, withBias ? dbRef : null);
          assertClose(dw!, dwRef, { ...tol, what: `dW, ${what}` });
          assertClose(db!, dbRef, { ...tol, what: `db ${withBias ? '+= Σ dY' : 'untouched without bias'}, ${what}` });
          for (const t of [X, W, Bs, Y, DY, DX, DW, DB]) t.destroy();
        }
      }
    });
  }

  it('the shared candidates are valid, within the portable limits, and name themselves back', () => {
    const all = matmulCandidates();
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.length).toBeLessThanOrEqual(12);
    for (const t of TABLE_TILES) expect(all.some((u) => matmulTilesName(u) === matmulTilesName(t)), matmulTilesName(t)).toBe(true);
    expect(SHARED.length).toBeGreaterThanOrEqual(3);
    for (const t of all) expect(parseMatmulTiles(matmulTilesName(t))).toEqual(t);
    for (const t of SHARED) {
      expect(sharedInvocations(t), matmulTilesName(t)).toBeLessThanOrEqual(256);
      expect(sharedStorageBytes(t), matmulTilesName(t)).toBeLessThanOrEqual(16384);
    }
    expect(() => parseMatmulTiles('64x64x8')).toThrow(/neither ROWSxCOLSxWGu<UNROLL>\[s\].*nor BMxBNxBK:TMxTN/);
    expect(() => parseMatmulTiles('128x128x8:4x4')).toThrow(/1024 invocations, more than 256/);
  });

  // [M, N, K1, K2]: scalar (K1, K2 odd) and VEC4 (all multiples of 4) concatenations.
  const CAT: [number, number, number, number][] = [
    [9, 13, 5, 11],
    [9, 12, 8, 12],
    [6, 16, 4, 20],
  ];
  it(`tilings under test on "${engine.adapterName}" (tuning row "${row.name}"): every one the row chooses, and only small others`, () => {
    for (const t of ROW_TILES) expect(TILINGS.some((u) => sameTiles(u, t)), tileName(t)).toBe(true);
    if (onSwiftShader) expect(TILINGS.length).toBe(2 * unique([...TABLE_TILES, ...EXTRA]).length);
    else for (const t of TILINGS) expect(ROW_TILES.some((r) => r.ROWS === t.ROWS && r.COLS === t.COLS) || t.ROWS * t.COLS <= 8, tileName(t)).toBe(true);
  });

  for (const tiles of [undefined, ...extraHere, ...SHARED]) {
    for (const [M, N, K1, K2] of CAT) {
      it(`concatenated input, accumulate flags and column offsets M=${M} N=${N} K1=${K1} K2=${K2}, tiles ${tiles ? tileName(tiles) : 'of the tuning table'}`, async () => {
        const e = await getEngine();
        const rng = new Rng(7 + K1);
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
        const ds = [
          matmulForward(e, { x: X1, x2: X2, w: W, y: Y, accumulate: true, tiles }),
          matmulBackwardInput(e, { dy: DY, w: W, dx: DX1, colOffset: 0, tiles }),
          matmulBackwardInput(e, { dy: DY, w: W, dx: DX2, colOffset: K1, accumulate: true, tiles }),
          matmulBackwardWeight(e, { dy: DY, x: X1, dw: DW, colOffset: 0, tiles }),
          matmulBackwardWeight(e, { dy: DY, x: X2, dw: DW, colOffset: K1, tiles }),
        ];
        const vec4 = K1 % 4 === 0 && K2 % 4 === 0 && N % 4 === 0;
        for (const d of ds) {
          if (tiles && isSharedTiles(tiles)) expect(d.kernel.spec.file, d.kernel.key).toBe('matmul_shared.wgsl');
          else expectDefine(d, 'VEC4', vec4);
        }
        e.run(ds);
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
        for (const t of [X1, X2, W, Y, DY, DX1, DX2, DW]) t.destroy();
      });
    }
  }

  it('a larger product (VEC4, many workgroups, every kernel) matches the reference', async () => {
    const e = await getEngine();
    const [M, N, K] = [200, 136, 260];
    const rng = new Rng(11);
    const x = rng.normalArray(M * K);
    const w = rng.normalArray(N * K);
    const dy = rng.normalArray(M * N);
    const X = e.tensor([M, K], { label: 'x', data: x });
    const W = e.tensor([N, K], { label: 'w', data: w });
    const Y = e.tensor([M, N], { label: 'y' });
    const DY = e.tensor([M, N], { label: 'dy', data: dy });
    const DX = e.tensor([M, K], { label: 'dx' });
    const DW = e.tensor([N, K], { label: 'dw' });
    e.run([
      matmulForward(e, { x: X, w: W, y: Y }),
      matmulBackwardInput(e, { dy: DY, w: W, dx: DX }),
      matmulBackwardWeight(e, { dy: DY, x: X, dw: DW }),
    ]);
    const [y, dx, dw] = await e.readMany([Y, DX, DW]);
    const big = { atol: 5e-4, rtol: 1e-4 };
    assertClose(y!, matmulForwardRef(x, w, null, M, N, K), { ...big, what: 'Y' });
    assertClose(dx!, matmulBackwardInputRef(dy, w, M, N, K), { ...big, what: 'dX' });
    const dwRef = new Float32Array(N * K);
    matmulBackwardWeightAccumulateRef(dy, x, M, N, K, dwRef, null);
    assertClose(dw!, dwRef, { ...big, what: 'dW' });
    for (const t of [X, W, Y, DY, DX, DW]) t.destroy();
  });

  it('rejects invalid tilings', async () => {
    const e = await getEngine();
    const X = e.tensor([4, 5], { label: 'x' });
    const W = e.tensor([3, 5], { label: 'w' });
    const Y = e.tensor([4, 3], { label: 'y' });
    expect(() => matmulForward(e, { x: X, w: W, y: Y, tiles: { ROWS: 5, COLS: 8, WG: 8, UNROLL: 1, subgroups: false } })).toThrow(/invalid matmul tiling/);
    expect(() => matmulForward(e, { x: X, w: W, y: Y, tiles: { ROWS: 2, COLS: 8, WG: 6, UNROLL: 1, subgroups: false } })).toThrow(/invalid matmul tiling/);
    const shared = (t: Omit<SharedTiles, 'kind'>): SharedTiles => ({ kind: 'shared', ...t });
    expect(() => matmulForward(e, { x: X, w: W, y: Y, tiles: shared({ BM: 48, BN: 64, BK: 8, TM: 4, TN: 4 }) })).toThrow(/invalid matmul tiling.*BM and BN must be 16, 32, 64 or 128/);
    expect(() => matmulBackwardInput(e, { dy: Y, w: W, dx: X, tiles: shared({ BM: 64, BN: 64, BK: 3, TM: 4, TN: 4 }) })).toThrow(/BK must be 4, 8, 16 or 32/);
    expect(() => matmulBackwardWeight(e, { dy: Y, x: X, dw: W, tiles: shared({ BM: 64, BN: 64, BK: 8, TM: 16, TN: 4 }) })).toThrow(/TM and TN must be 1, 2, 4 or 8/);
    expect(() => matmulForward(e, { x: X, w: W, y: Y, tiles: shared({ BM: 128, BN: 128, BK: 8, TM: 4, TN: 4 }) })).toThrow(/1024 invocations, more than 256/);
    expect(() => matmulForward(e, { x: X, w: W, y: Y, tiles: shared({ BM: 128, BN: 128, BK: 32, TM: 8, TN: 8 }) })).toThrow(/33024 bytes of workgroup memory, more than 16384/);
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

describe('batched pairs (two alike products in one dispatch)', () => {
  // One buffer per operand role holding both products' operands at a gap (views aligned to the
  // device's storage offset alignment), as the dense layer's state, gates and arena do.
  const PAIR_SHAPES: [number, number, number, number][] = [
    [5, 7, 12, 8], // VEC4 path
    [3, 5, 7, 3], // scalar path
    [37, 29, 44, 20],
    [1, 1, 1, 1],
  ];
  const pairTilings: MatmulTiles[] = [row.matmul.forward, row.matmul.backwardWeight, { kind: 'shared', BM: 32, BN: 32, BK: 8, TM: 4, TN: 4 } as SharedTiles].filter(
    (t, i, ts) => ts.findIndex((u) => matmulTilesName(u) === matmulTilesName(t)) === i,
  );
  function region(e: Awaited<ReturnType<typeof getEngine>>, sizes: number[], label: string, rng: Rng, gapFloats = 3) {
    const align = e.limits.minStorageBufferOffsetAlignment / 4;
    const offs: number[] = [];
    let off = 0;
    for (const n of sizes) {
      offs.push(off);
      off = Math.ceil((off + n + gapFloats) / align) * align;
    }
    const data = rng.normalArray(off, 1);
    const whole = e.tensor([off], { label, data });
    return { whole, data, view: (i: number, shape: number[]) => new Tensor(whole.buffer, shape, 'f32', `${label}[${i}]`, offs[i]! * 4), at: (i: number, n: number) => data.slice(offs[i]!, offs[i]! + n) };
  }
  for (const tiles of pairTilings) {
    it(`forward pair, tiles ${tileName(tiles)}: both products equal the reference, nothing else written`, async () => {
      const e = await getEngine();
      const rng = new Rng(31);
      for (const [M, N, K1, K2] of PAIR_SHAPES) {
        const K = K1 + K2;
        const x1 = e.tensor([M, K1], { label: 'x1', data: rng.normalArray(M * K1, 1) });
        const x1d = await e.read(x1);
        const X2 = region(e, [M * K2, M * K2], 'x2', rng);
        const W = region(e, [N * K, N * K], 'w', rng);
        const Bs = region(e, [N, N], 'b', rng);
        const Y = region(e, [M * N, M * N], 'y', rng);
        for (const accumulate of [false, true]) {
          const yBefore = await e.read(Y.whole);
          const item = (i: number) => ({ x: x1, x2: X2.view(i, [M, K2]), w: W.view(i, [N, K]), bias: Bs.view(i, [N]), y: Y.view(i, [M, N]), accumulate, tiles });
          e.run([matmulForwardPair(e, item(0), item(1), 'pair')]);
          const yAfter = await e.read(Y.whole);
          for (const i of [0, 1]) {
            const ref = matmulForwardRef(catRows(x1d, X2.at(i, M * K2), M, K1, K2), W.at(i, N * K), Bs.at(i, N), M, N, K);
            const off = Y.view(i, [M, N]).byteOffset / 4;
            if (accumulate) for (let j = 0; j < ref.length; j++) ref[j] = ref[j]! + yBefore[off + j]!;
            assertClose(yAfter.subarray(off, off + M * N), ref, { ...tol, what: `Y[${i}] M=${M} N=${N} K=${K1}+${K2}${accumulate ? ' +=' : ''}` });
          }
          // the gaps between and after the outputs are untouched
          const o1 = Y.view(1, [M, N]).byteOffset / 4;
          expect(Array.from(yAfter.subarray(M * N, o1))).toEqual(Array.from(yBefore.subarray(M * N, o1)));
          expect(Array.from(yAfter.subarray(o1 + M * N))).toEqual(Array.from(yBefore.subarray(o1 + M * N)));
        }
        for (const t of [x1, X2.whole, W.whole, Bs.whole, Y.whole]) t.destroy();
      }
    });

    it(`weight-gradient pair, tiles ${tileName(tiles)}: both accumulate like two calls, at a column offset`, async () => {
      const e = await getEngine();
      const rng = new Rng(37);
      for (const [M, N, K, extra] of PAIR_SHAPES) {
        const KW = K + extra + 4;
        const off = extra;
        const DY = region(e, [M * N, M * N], 'dy', rng);
        const X = region(e, [M * K, M * K], 'x', rng);
        const DW = region(e, [N * KW, N * KW], 'dw', rng);
        const DB = region(e, [N, N], 'db', rng);
        const item = (i: number) => ({ dy: DY.view(i, [M, N]), x: X.view(i, [M, K]), dw: DW.view(i, [N, KW]), db: DB.view(i, [N]), colOffset: off, tiles });
        e.run([matmulBackwardWeightPair(e, item(0), item(1), 'pair')]);
        const [dw, db] = await e.readMany([DW.whole, DB.whole]);
        for (const i of [0, 1]) {
          const full = DW.at(i, N * KW);
          const slice = new Float32Array(N * K);
          for (let n = 0; n < N; n++) slice.set(full.subarray(n * KW + off, n * KW + off + K), n * K);
          const dbRef = DB.at(i, N);
          matmulBackwardWeightAccumulateRef(DY.at(i, M * N), X.at(i, M * K), M, N, K, slice, dbRef);
          for (let n = 0; n < N; n++) full.set(slice.subarray(n * K, (n + 1) * K), n * KW + off);
          const o = DW.view(i, [N, KW]).byteOffset / 4;
          assertClose(dw!.subarray(o, o + N * KW), full, { ...tol, what: `dW[${i}] M=${M} N=${N} K=${K} off=${off}` });
          const ob = DB.view(i, [N]).byteOffset / 4;
          assertClose(db!.subarray(ob, ob + N), dbRef, { ...tol, what: `db[${i}]` });
        }
        for (const t of [DY.whole, X.whole, DW.whole, DB.whole]) t.destroy();
      }
    });
  }

  for (const tiles of pairTilings) {
    it(`input-gradient pairs, tiles ${tileName(tiles)}: two outputs, and two products summed into one`, async () => {
      const e = await getEngine();
      const rng = new Rng(53);
      for (const [M, N, K, extra] of PAIR_SHAPES) {
        const KW = K + extra + 4;
        const off = extra;
        const DY = region(e, [M * N, M * N], 'dy', rng);
        const W = region(e, [N * KW, N * KW], 'w', rng);
        const wSlice = (i: number) => {
          const full = W.at(i, N * KW);
          const out = new Float32Array(N * K);
          for (let n = 0; n < N; n++) out.set(full.subarray(n * KW + off, n * KW + off + K), n * K);
          return out;
        };
        const refOf = (i: number) => matmulBackwardInputRef(DY.at(i, M * N), wSlice(i), M, N, K);
        // two outputs, accumulated onto their start values
        const DX = region(e, [M * K, M * K], 'dx', rng);
        const item = (i: number, dx = DX.view(i, [M, K])) => ({ dy: DY.view(i, [M, N]), w: W.view(i, [N, KW]), dx, colOffset: off, accumulate: true, tiles });
        e.run([matmulBackwardInputPair(e, item(0), item(1), { sum: false }, 'pair')]);
        const dx = await e.read(DX.whole);
        for (const i of [0, 1]) {
          const ref = refOf(i);
          const start = DX.at(i, M * K);
          for (let t = 0; t < ref.length; t++) ref[t] = ref[t]! + start[t]!;
          const o = DX.view(i, [M, K]).byteOffset / 4;
          assertClose(dx.subarray(o, o + M * K), ref, { ...tol, what: `dX[${i}] M=${M} N=${N} K=${K} off=${off}` });
        }
        // summed into one output, overwriting
        const one = e.tensor([M, K], { label: 'dx_sum', data: rng.normalArray(M * K, 1) });
        const s0 = { ...item(0, one), accumulate: false };
        const s1 = { ...item(1, one), accumulate: false };
        e.run([matmulBackwardInputPair(e, s0, s1, { sum: true }, 'sum')]);
        const want = refOf(0);
        const r1 = refOf(1);
        for (let t = 0; t < want.length; t++) want[t] = want[t]! + r1[t]!;
        assertClose(await e.read(one), want, { ...tol, what: `dX = dY0·W0 + dY1·W1, M=${M} N=${N} K=${K}` });
        expect(() => matmulBackwardInputPair(e, s0, s1, { sum: false }, 'p')).toThrow(/write the same dx_sum: use \{ sum: true \}/);
        expect(() => matmulBackwardInputPair(e, item(0), item(1), { sum: true }, 'p')).toThrow(/a summed pair writes one output/);
        for (const t of [DY.whole, W.whole, DX.whole, one]) t.destroy();
      }
    });

    it(`forward with split weights (Y = X1·W1ᵀ + X2·W2ᵀ + b), tiles ${tileName(tiles)}`, async () => {
      const e = await getEngine();
      const rng = new Rng(43);
      for (const [M, N, K1, K2] of [[5, 7, 1, 8], [6, 12, 8, 12], [37, 29, 44, 20], [1, 1, 1, 1], [9, 5, 3, 7]] as const) {
        const x1d = rng.normalArray(M * K1, 1);
        const x2d = rng.normalArray(M * K2, 1);
        const x1 = e.tensor([M, K1], { label: 'x1', data: x1d });
        const x2 = e.tensor([M, K2], { label: 'x2', data: x2d });
        const W = region(e, [N * K1, N * K2], 'w', rng);
        const bias = e.tensor([N], { label: 'b', data: rng.normalArray(N, 1) });
        const bd = await e.read(bias);
        for (const accumulate of [false, true]) {
          const y0 = rng.normalArray(M * N, 1);
          const y = e.tensor([M, N], { label: 'y', data: y0 });
          e.run([matmulForward(e, { x: x1, x2, w: W.view(0, [N, K1]), w2: W.view(1, [N, K2]), bias, y, accumulate, tiles, label: 'split' })]);
          const ref = matmulForwardRef(catRows(x1d, x2d, M, K1, K2), catRows(W.at(0, N * K1), W.at(1, N * K2), N, K1, K2), bd, M, N, K1 + K2);
          if (accumulate) for (let i = 0; i < ref.length; i++) ref[i] = ref[i]! + y0[i]!;
          assertClose(await e.read(y), ref, { ...tol, what: `split M=${M} N=${N} K=${K1}+${K2}${accumulate ? ' +=' : ''}` });
          y.destroy();
        }
        for (const t of [x1, x2, W.whole, bias]) t.destroy();
      }
    });
  }

  it('refuses split weights without a second input, of the wrong shapes, or out of order', async () => {
    const e = await getEngine();
    const rng = new Rng(47);
    const [M, N, K1, K2] = [3, 4, 8, 4];
    const W = region(e, [N * K1, N * K2], 'w', rng);
    const x = e.tensor([M, K1]);
    const x2 = e.tensor([M, K2]);
    const y = e.tensor([M, N]);
    expect(() => matmulForward(e, { x, w: W.view(0, [N, K1]), w2: W.view(1, [N, K2]), y, label: 's' })).toThrow(/s: a second weight w\[1\] \[4, 4\] needs a second input x2/);
    expect(() => matmulForward(e, { x, x2, w: W.view(0, [N, K1]), w2: W.view(1, [N, K2 - 1]), y, label: 's' })).toThrow(ShapeError);
    expect(() => matmulForward(e, { x: x2, x2: x, w: W.view(1, [N, K2]), w2: W.view(0, [N, K1]), y, label: 's' })).toThrow(/the second \(.*\) must lie after the first/);
    for (const t of [W.whole, x, x2, y]) t.destroy();
  });

  it('refuses pairs whose operands are not in one buffer, out of order, or unlike', async () => {
    const e = await getEngine();
    const rng = new Rng(41);
    const [M, N, K] = [3, 4, 8];
    const X = region(e, [M * K, M * K], 'x', rng);
    const W = region(e, [N * K, N * K], 'w', rng);
    const Y = region(e, [M * N, M * N], 'y', rng);
    const other = e.tensor([N, K], { label: 'elsewhere' });
    const a = { x: X.view(0, [M, K]), w: W.view(0, [N, K]), y: Y.view(0, [M, N]) };
    const b = { x: X.view(1, [M, K]), w: W.view(1, [N, K]), y: Y.view(1, [M, N]) };
    expect(() => matmulForwardPair(e, a, { ...b, w: other }, 'p')).toThrow(/p: the weights of both products must lie in one buffer \(w\[0\] and elsewhere do not\)/);
    expect(() => matmulForwardPair(e, b, a, 'p')).toThrow(/the second \(.*\) must lie after the first/);
    expect(() => matmulForwardPair(e, a, { ...b, bias: e.tensor([N]) }, 'p')).toThrow(/alike have \(or not have\) a bias/);
    expect(() => matmulForwardPair(e, a, { ...b, x: X.view(1, [M, K - 4]), w: W.view(1, [N, K - 4]) }, 'p')).toThrow(ShapeError);
    for (const t of [X.whole, W.whole, Y.whole, other]) t.destroy();
  });
});
