/**
 * The autotuner's correctness check (src/kernels/autotune.ts): before a candidate tiling or
 * workgroup size is timed, it runs on awkward shapes (sizes that are not multiples of any tile,
 * both the scalar and the vec4 path) and its output is compared with the CPU reference; a
 * candidate that differs is never chosen. Also the rig the trials allocate their tensors from.
 *
 * This is the one kernel module that imports the reference (src/ref/), for its math only
 * (test/gpu/layering.test.ts names it as an exception to "only src/ref/ and the tests use the
 * reference"): the descriptions it needs (conv geometry, optimizer settings) come from src/model/.
 */
import type { Engine } from '../gpu/engine.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2dGeometry, type Conv2dGeometry } from '../model/conv_config.js';
import type { FpttConfig, OptimizerConfig } from '../model/optim_config.js';
import { conv2dBackwardInputRef, conv2dBackwardWeightAccumulateRef, conv2dForwardRef } from '../ref/conv2d.js';
import { matmulBackwardInputRef, matmulBackwardWeightAccumulateRef, matmulForwardRef } from '../ref/matmul.js';
import { fpttUpdateRef, initFpttState, initOptimizerState } from '../ref/optim.js';
import { Rng } from '../util/rng.js';
import type { ParamArena } from './arena.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, type ConvTiles } from './conv2d.js';
import { addInto } from './elementwise.js';
import { createFpttUpdate } from './fptt_update.js';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from './matmul.js';
import type { MatmulTiles, Tuning } from './tuning.js';

export type KernelKind = 'forward' | 'backwardInput' | 'backwardWeight';

/** The engine, a seeded generator, and the tensors a family's trials made (freed when it is done). */
export interface Rig {
  engine: Engine;
  rng: Rng;
  owned: Tensor[];
  tensor(shape: number[], data?: Float32Array, label?: string): Tensor;
}

export function makeRig(engine: Engine): Rig {
  const owned: Tensor[] = [];
  return {
    engine,
    rng: new Rng(0x7a11),
    owned,
    tensor(shape, data, label = 'autotune') {
      const t = engine.tensor(shape, { label, data });
      owned.push(t);
      return t;
    },
  };
}

/** Run `fn` with the engine's tuning replaced by `t` (the launchers read engine.tuning). */
export function withTuning<T>(e: Engine, t: Tuning, fn: () => T): T {
  const saved = e.tuning;
  e.tuning = t;
  try {
    return fn();
  } finally {
    e.tuning = saved;
  }
}

/** Largest |a − b| relative to 1 + |b|, with NaN counted as a failure. */
function mismatch(got: Float32Array, want: ArrayLike<number>, tol: number): string | null {
  if (got.length !== want.length) return `got ${got.length} values, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (!(Math.abs(a - b) <= tol * (1 + Math.abs(b)))) return `element ${i}: got ${a}, expected ${b}`;
  }
  return null;
}

const TOL = 1e-4;

// ---- matmul ----------------------------------------------------------------------------------

/** [X1 | X2] as one M×(K1+K2) matrix, for the reference. */
function concatCols(x1: Float32Array, x2: Float32Array, M: number, K1: number, K2: number): Float32Array {
  const out = new Float32Array(M * (K1 + K2));
  for (let m = 0; m < M; m++) {
    out.set(x1.subarray(m * K1, (m + 1) * K1), m * (K1 + K2));
    out.set(x2.subarray(m * K2, (m + 1) * K2), m * (K1 + K2) + K1);
  }
  return out;
}

// Awkward validation shapes: M and N primes; K multiples of 4 (vec4 path) and not (scalar path).
const MM_CHECKS = [
  { M: 37, N: 29, K1: 44, K2: 20 },
  { M: 5, N: 13, K1: 23, K2: 6 },
];

export async function validateMatmul(r: Rig, kind: KernelKind, tiles: MatmulTiles): Promise<string | null> {
  const e = r.engine;
  for (const { M, N, K1, K2 } of MM_CHECKS) {
    const K = K1 + K2;
    if (kind === 'forward') {
      const x1 = r.rng.normalArray(M * K1, 1);
      const x2 = r.rng.normalArray(M * K2, 1);
      const w = r.rng.normalArray(N * K, 0.3);
      const b = r.rng.normalArray(N, 1);
      const y = r.tensor([M, N]);
      e.run([matmulForward(e, { x: r.tensor([M, K1], x1), x2: r.tensor([M, K2], x2), w: r.tensor([N, K], w), bias: r.tensor([N], b), y, tiles, label: 'autotune.check' })], 'autotune check');
      const bad = mismatch(await e.read(y), matmulForwardRef(concatCols(x1, x2, M, K1, K2), w, b, M, N, K), TOL);
      if (bad) return `forward ${M}×${N}×(${K1}+${K2}): ${bad}`;
    } else if (kind === 'backwardInput') {
      // dX = dY·W[:, off:off+K1] with off = K2 (a column offset), accumulated onto a start value.
      const dy = r.rng.normalArray(M * N, 1);
      const w = r.rng.normalArray(N * K, 0.3);
      const start = r.rng.normalArray(M * K1, 1);
      const dx = r.tensor([M, K1], start);
      const off = K2 - (K2 % 4);
      e.run([matmulBackwardInput(e, { dy: r.tensor([M, N], dy), w: r.tensor([N, K], w), dx, colOffset: off, accumulate: true, tiles, label: 'autotune.check' })], 'autotune check');
      const wSlice = new Float32Array(N * K1);
      for (let n = 0; n < N; n++) wSlice.set(w.subarray(n * K + off, n * K + off + K1), n * K1);
      const want = matmulBackwardInputRef(dy, wSlice, M, N, K1);
      for (let i = 0; i < want.length; i++) want[i] = want[i]! + start[i]!;
      const bad = mismatch(await e.read(dx), want, TOL);
      if (bad) return `backward input ${M}×${N}×${K1} at column ${off}: ${bad}`;
    } else {
      const dy = r.rng.normalArray(M * N, 1);
      const x = r.rng.normalArray(M * K1, 1);
      const dw0 = r.rng.normalArray(N * K1, 1);
      const db0 = r.rng.normalArray(N, 1);
      const dw = r.tensor([N, K1], dw0);
      const db = r.tensor([N], db0);
      e.run([matmulBackwardWeight(e, { dy: r.tensor([M, N], dy), x: r.tensor([M, K1], x), dw, db, tiles, label: 'autotune.check' })], 'autotune check');
      const wantW = Float32Array.from(dw0);
      const wantB = Float32Array.from(db0);
      matmulBackwardWeightAccumulateRef(dy, x, M, N, K1, wantW, wantB);
      const [gw, gb] = await e.readMany([dw, db]);
      const bad = mismatch(gw!, wantW, TOL) ?? mismatch(gb!, wantB, TOL);
      if (bad) return `backward weight ${M}×${N}×${K1}: ${bad}`;
    }
  }
  return null;
}

// ---- conv ------------------------------------------------------------------------------------

export async function validateConv(r: Rig, kind: KernelKind, tiles: ConvTiles): Promise<string | null> {
  const e = r.engine;
  const g: Conv2dGeometry = conv2dGeometry(2, 3, 7, 5, 5, 3, 3, { padding: 1 });
  const xs = [g.N, g.Cin, g.H, g.W];
  const ws = [g.Cout, g.Cin, g.KH, g.KW];
  const ys = [g.N, g.Cout, g.OH, g.OW];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const opts = { padding: 1 };
  if (kind === 'forward') {
    const x = r.rng.normalArray(size(xs), 1);
    const w = r.rng.normalArray(size(ws), 0.3);
    const b = r.rng.normalArray(g.Cout, 1);
    const y = r.tensor(ys);
    e.run([conv2dForward(e, { x: r.tensor(xs, x), w: r.tensor(ws, w), bias: r.tensor([g.Cout], b), y, tiles, ...opts, label: 'autotune.check' })], 'autotune check');
    return mismatch(await e.read(y), conv2dForwardRef(x, w, b, g), TOL);
  }
  if (kind === 'backwardInput') {
    const dy = r.rng.normalArray(size(ys), 1);
    const w = r.rng.normalArray(size(ws), 0.3);
    const dx = r.tensor(xs);
    e.run([conv2dBackwardInput(e, { dy: r.tensor(ys, dy), w: r.tensor(ws, w), dx, tiles, ...opts, label: 'autotune.check' })], 'autotune check');
    return mismatch(await e.read(dx), conv2dBackwardInputRef(dy, w, g), TOL);
  }
  const dy = r.rng.normalArray(size(ys), 1);
  const x = r.rng.normalArray(size(xs), 1);
  const dw = r.tensor(ws);
  const db = r.tensor([g.Cout]);
  e.run([conv2dBackwardWeight(e, { dy: r.tensor(ys, dy), x: r.tensor(xs, x), dw, db, tiles, ...opts, label: 'autotune.check' })], 'autotune check');
  const wantW = new Float32Array(size(ws));
  const wantB = new Float32Array(g.Cout);
  conv2dBackwardWeightAccumulateRef(dy, x, null, g, wantW, wantB);
  const [gw, gb] = await e.readMany([dw, db]);
  return mismatch(gw!, wantW, TOL) ?? mismatch(gb!, wantB, TOL);
}

// ---- elementwise and update workgroup sizes --------------------------------------------------

/** y += x over an odd length (1031), with the engine's tuning replaced by `t`. */
export async function validateElementwise(r: Rig, t: Tuning): Promise<string | null> {
  const e = r.engine;
  const n = 1031;
  const x = r.rng.normalArray(n, 1);
  const y0 = r.rng.normalArray(n, 1);
  const y = r.tensor([n], y0);
  withTuning(e, t, () => e.run([addInto(e, { x: r.tensor([n], x), y, label: 'autotune.check' })], 'autotune check'));
  return mismatch(await e.read(y), Array.from(y0, (v, i) => v + x[i]!), 1e-6);
}

/** How the update trials make an arena (they free it with the family). */
export type ArenaMaker = (shapes: Record<string, number[]>, init: Record<string, Float32Array>, label: string) => ParamArena;

/** One FPTT update with workgroup size `wg` and pieces of `lanes` per invocation over parameters of awkward sizes, against fpttUpdateRef. */
export async function validateUpdate(r: Rig, wg: number, lanes: number, optimizer: OptimizerConfig, fpttCfg: FpttConfig, arenaOf: ArenaMaker): Promise<string | null> {
  const e = r.engine;
  const shapes: Record<string, number[]> = { a: [1], b: [13, 17], c: [67, 71], d: [1031] };
  const init: Record<string, Float32Array> = {};
  const grads: Record<string, Float32Array> = {};
  for (const [k, s] of Object.entries(shapes)) {
    const n = s.reduce((x, y) => x * y, 1);
    init[k] = r.rng.normalArray(n, 0.5);
    grads[k] = r.rng.normalArray(n, 0.1);
  }
  const arena = arenaOf(shapes, init, 'autotune.check');
  for (const v of arena.views) e.upload(v.grad, grads[v.name]!);
  const upd = createFpttUpdate(e, arena, { alpha: fpttCfg.alpha, beta: fpttCfg.beta, clip: fpttCfg.clip, optimizer, fptt: true, workgroupSize: wg, chunkLanes: lanes, label: 'autotune.check' });
  try {
    // W̄ = W and λ = 0 here, so ∇R = 0 and grad is ∇ℓ alone
    e.run([upd.prepare!, ...upd.dispatches], 'autotune check');
    const want = fpttUpdateRef(optimizer, fpttCfg, init, grads, initOptimizerState(init), initFpttState(init));
    const got = await e.readMany(arena.views.map((v) => v.param));
    for (let i = 0; i < arena.views.length; i++) {
      const v = arena.views[i]!;
      const bad = mismatch(got[i]!, want.params[v.name]!, TOL);
      if (bad) return `parameter ${v.name}: ${bad}`;
    }
    return null;
  } finally {
    upd.destroy();
  }
}
