/**
 * Launchers for shaders/matmul.wgsl. Each checks every shape before anything is dispatched and
 * returns a prepared Dispatch (bind group and uniforms built once).
 *
 * Variant choice (all part of the pipeline key): the tiling comes from the per-adapter tuning
 * table (src/kernels/tuning.ts) unless `tiles` is given; VEC4 (operands bound as
 * array<vec4<f32>>) is used when the row lengths and offsets of the contiguous operands are
 * multiples of 4, else the scalar path; SUBGROUPS when the tiling asks for it and the device has
 * the 'subgroups' feature with subgroups of at least 4 invocations.
 * A tiling of kind 'shared' selects the workgroup-memory kernels of shaders/matmul_shared.wgsl
 * instead (same bindings and uniforms, scalar loads only, no subgroups): its five tile sizes are
 * defines, checked against the device's workgroup limits before anything is built.
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { ceilDiv, pipelineKey, type Dispatch, type KernelSpec, type PipelineVariant } from '../gpu/kernel.js';
import { uniqueBy } from '../util/unique.js';
import type { Tensor } from '../gpu/tensor.js';
import {
  isSharedTiles,
  matmulCandidates,
  matmulTilesName,
  matmulTilesProblem,
  sharedInvocations,
  sharedStorageBytes,
  type MatmulTiles,
  type MatmulTuning,
  type RegisterTiles,
  type SharedTiles,
} from './tuning.js';

export const MATMUL_FORWARD: KernelSpec = {
  name: 'matmul_forward',
  file: 'matmul.wgsl',
  entry: 'matmul_forward',
  params: [
    ['M', 'u32'], ['N', 'u32'], ['K1', 'u32'], ['K2', 'u32'], ['has_bias', 'u32'], ['accumulate', 'u32'],
    ['z_x1', 'u32'], ['z_x2', 'u32'], ['z_w', 'u32'], ['z_b', 'u32'], ['z_y', 'u32'], ['w_split', 'u32'], ['w2_off', 'u32'],
  ],
  storage: [
    { name: 'x1', access: 'read' },
    { name: 'x2', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const MATMUL_BACKWARD_INPUT: KernelSpec = {
  name: 'matmul_backward_input',
  file: 'matmul.wgsl',
  entry: 'matmul_backward_input',
  params: [
    ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['KW', 'u32'], ['off', 'u32'], ['accumulate', 'u32'],
    ['z_dy', 'u32'], ['z_w', 'u32'], ['z_dx', 'u32'], ['z_sum', 'u32'],
  ],
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
};

export const MATMUL_BACKWARD_WEIGHT: KernelSpec = {
  name: 'matmul_backward_weight',
  file: 'matmul.wgsl',
  entry: 'matmul_backward_weight',
  params: [
    ['M', 'u32'], ['N', 'u32'], ['K', 'u32'], ['KW', 'u32'], ['off', 'u32'], ['has_bias', 'u32'],
    ['z_dy', 'u32'], ['z_x', 'u32'], ['z_dw', 'u32'], ['z_db', 'u32'], ['db_in_dw', 'u32'], ['db_off', 'u32'],
  ],
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'x', access: 'read' },
    { name: 'dw', access: 'read_write' },
    { name: 'db', access: 'read_write' },
  ],
};

export const MATMUL_KERNELS = [MATMUL_FORWARD, MATMUL_BACKWARD_INPUT, MATMUL_BACKWARD_WEIGHT];

/** The workgroup-memory versions (shaders/matmul_shared.wgsl): the same bindings and uniforms. */
export const MATMUL_SHARED_FORWARD: KernelSpec = { ...MATMUL_FORWARD, name: 'matmul_shared_forward', file: 'matmul_shared.wgsl', entry: 'matmul_shared_forward' };
export const MATMUL_SHARED_BACKWARD_INPUT: KernelSpec = {
  ...MATMUL_BACKWARD_INPUT,
  name: 'matmul_shared_backward_input',
  file: 'matmul_shared.wgsl',
  entry: 'matmul_shared_backward_input',
};
export const MATMUL_SHARED_BACKWARD_WEIGHT: KernelSpec = {
  ...MATMUL_BACKWARD_WEIGHT,
  name: 'matmul_shared_backward_weight',
  file: 'matmul_shared.wgsl',
  entry: 'matmul_shared_backward_weight',
};

export const MATMUL_SHARED_KERNELS = [MATMUL_SHARED_FORWARD, MATMUL_SHARED_BACKWARD_INPUT, MATMUL_SHARED_BACKWARD_WEIGHT];

function rows(t: Tensor, what: string): [number, number] {
  if (t.shape.length !== 2) throw new ShapeError(`${what}: ${t.label} must be 2-D, got ${shapeStr(t.shape)}`);
  return [t.shape[0]!, t.shape[1]!];
}

/** Options shared by the three launchers. */
export interface MatmulVariantOptions {
  /** Tiling to use instead of the tuning table's row for this adapter. */
  tiles?: MatmulTiles;
  /** false forces the scalar path even where VEC4 is possible (tests and benchmarks). */
  vec4?: boolean;
}

/** Whether subgroupBroadcast over 4 lanes works on this device (feature and subgroup size ≥ 4). */
export function deviceHasSubgroups4(engine: Engine): boolean {
  if (!engine.device.features.has('subgroups')) return false;
  const min = (engine.ctx.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize;
  return typeof min === 'number' && min >= 4;
}

function checkTiles(t: MatmulTiles, what: string): void {
  const why = matmulTilesProblem(t);
  if (why) throw new Error(`${what}: invalid matmul tiling ${JSON.stringify(t)} (${why})`);
}

/** The pipeline variant (defines and override constants) of a tiling. */
export function matmulVariant(t: RegisterTiles, vec4: boolean, subgroups: boolean): PipelineVariant {
  const defines: Record<string, number> = { ROWS: t.ROWS, COLS: t.COLS, UNROLL: t.UNROLL };
  if (t.ROWS >= 2) defines.ROWS_2 = 1;
  if (t.ROWS >= 3) defines.ROWS_3 = 1;
  if (t.ROWS >= 4) defines.ROWS_4 = 1;
  if (t.COLS >= 8) defines.COLS_8 = 1;
  if (t.COLS >= 16) defines.COLS_16 = 1;
  if (t.UNROLL === 2) defines.UNROLL_2 = 1;
  if (vec4) defines.VEC4 = 1;
  if (subgroups) defines.SUBGROUPS = 1;
  return { defines, constants: { WG: t.WG } };
}

/** The pipeline variant of a shared tiling (shaders/matmul_shared.wgsl): its five sizes as defines. */
export function matmulSharedVariant(t: SharedTiles): PipelineVariant {
  return { defines: { BM: t.BM, BN: t.BN, BK: t.BK, TM: t.TM, TN: t.TN } };
}

/**
 * Every pipeline variant of shaders/matmul.wgsl the launchers can build from the tuning table and
 * the candidates: each register tiling × VEC4 on/off × with and without SUBGROUPS (the fallback)
 * where the tiling asks for subgroups.
 */
export function matmulVariants(): PipelineVariant[] {
  const out: PipelineVariant[] = [];
  for (const t of matmulCandidates()) {
    if (isSharedTiles(t)) continue;
    for (const vec4 of [false, true]) {
      for (const sg of t.subgroups ? [false, true] : [false]) out.push(matmulVariant(t, vec4, sg));
    }
  }
  return uniqueVariants(out);
}

/** Every pipeline variant of shaders/matmul_shared.wgsl: the shared tilings of the table and of the candidates. */
export function matmulSharedVariants(): PipelineVariant[] {
  const out: PipelineVariant[] = [];
  for (const t of matmulCandidates()) if (isSharedTiles(t)) out.push(matmulSharedVariant(t));
  return uniqueVariants(out);
}

/** One of each variant (the spec does not matter: the key sorts defines and constants). */
const uniqueVariants = (vs: PipelineVariant[]) => uniqueBy(vs, (v) => pipelineKey(MATMUL_FORWARD, v));

type Kind = keyof MatmulTuning;
const SPECS: Record<Kind, { register: KernelSpec; shared: KernelSpec }> = {
  forward: { register: MATMUL_FORWARD, shared: MATMUL_SHARED_FORWARD },
  backwardInput: { register: MATMUL_BACKWARD_INPUT, shared: MATMUL_SHARED_BACKWARD_INPUT },
  backwardWeight: { register: MATMUL_BACKWARD_WEIGHT, shared: MATMUL_SHARED_BACKWARD_WEIGHT },
};

/**
 * The kernel and variant of a tiling on this device, and the output block of one workgroup
 * (rows × columns of the kernel's output: Y, dX or dW) for the dispatch size.
 */
function prepare(engine: Engine, kind: Kind, o: MatmulVariantOptions, vec4Possible: boolean, what: string) {
  const t = o.tiles ?? engine.tuning.matmul[kind];
  checkTiles(t, what);
  const maxInv = engine.limits.maxComputeInvocationsPerWorkgroup;
  if (isSharedTiles(t)) {
    const inv = sharedInvocations(t);
    const bytes = sharedStorageBytes(t);
    const lim = engine.limits;
    if (inv > maxInv) throw new Error(`${what}: tiling ${matmulTilesName(t)} needs ${inv} invocations per workgroup, over the device limit ${maxInv}`);
    if (t.BN / t.TN > lim.maxComputeWorkgroupSizeX || t.BM / t.TM > lim.maxComputeWorkgroupSizeY) {
      throw new Error(`${what}: tiling ${matmulTilesName(t)} needs a ${t.BN / t.TN}×${t.BM / t.TM} workgroup, over the device limits ${lim.maxComputeWorkgroupSizeX}×${lim.maxComputeWorkgroupSizeY}`);
    }
    if (bytes > lim.maxComputeWorkgroupStorageSize) {
      throw new Error(`${what}: tiling ${matmulTilesName(t)} needs ${bytes} bytes of workgroup memory, over the device limit ${lim.maxComputeWorkgroupStorageSize}`);
    }
    return { kernel: engine.kernel(SPECS[kind].shared, matmulSharedVariant(t)), blockRows: t.BM, blockCols: t.BN };
  }
  if (t.WG > maxInv) throw new Error(`${what}: workgroup of ${t.WG} invocations exceeds the device limit ${maxInv}`);
  const vec4 = vec4Possible && o.vec4 !== false;
  const sg = t.subgroups && deviceHasSubgroups4(engine);
  return { kernel: engine.kernel(SPECS[kind].register, matmulVariant(t, vec4, sg)), blockRows: t.ROWS * t.WG, blockCols: t.COLS };
}

export interface MatmulForwardArgs extends MatmulVariantOptions {
  /** X1 (M×K1). */
  x: Tensor;
  /** Optional second input X2 (M×K2): Y = [X1 | X2]·Wᵀ. */
  x2?: Tensor | null;
  /** W (N×(K1+K2)); or, with w2, W1 (N×K1). */
  w: Tensor;
  /**
   * Optional W2 (N×K2) for the second input: Y = X1·W1ᵀ + X2·W2ᵀ + b with W1 = w (a recurrent
   * layer's I = x·Wxᵀ + s·Wrᵀ + b in one dispatch). It must lie in w's buffer, after it.
   */
  w2?: Tensor | null;
  /** b (N), optional. */
  bias?: Tensor | null;
  /** Y (M×N). */
  y: Tensor;
  /** Y += instead of Y =. */
  accumulate?: boolean;
  label?: string;
}

/** Y = [X1 | X2]·Wᵀ + b. */
export function matmulForward(engine: Engine, a: MatmulForwardArgs): Dispatch {
  const what = a.label ?? 'matmulForward';
  const { M, N, K1, K2 } = forwardDims(a, what);
  // with W2: one binding from W1 to the end of W2, W2 at an element offset in it
  const w = a.w2 ? batchSpan(a.w, a.w2, 'weights (W1 and W2)', what) : null;
  if (w && w.stride === 0) throw new Error(`${what}: W1 ${a.w.label} and W2 ${a.w2!.label} must be two matrices, not one`);
  // VEC4: rows of X1, X2 and W are whole vec4s (and each bound buffer holds at least one).
  const vec4 = K1 % 4 === 0 && K2 % 4 === 0 && K1 > 0 && M > 0 && N > 0 && (w?.stride ?? 0) % 4 === 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'forward', a, vec4, what);
  return engine.dispatch(
    k,
    { x1: a.x, x2: a.x2 ?? null, w: w ? w.binding : a.w, bias: a.bias ?? null, y: a.y },
    { M, N, K1, K2, has_bias: a.bias ? 1 : 0, accumulate: a.accumulate ? 1 : 0, z_x1: 0, z_x2: 0, z_w: 0, z_b: 0, z_y: 0, w_split: w ? 1 : 0, w2_off: w?.stride ?? 0 },
    [ceilDiv(N, blockCols), ceilDiv(M, blockRows), 1],
    what,
  );
}

/**
 * Two operands of a batch (product 0's and product 1's) as one binding from the first to the end
 * of the second, and the distance between them in elements. The same tensor twice: stride 0.
 */
function batchSpan(p: Tensor, q: Tensor, role: string, what: string): { binding: GPUBufferBinding; stride: number } {
  if (p.buffer !== q.buffer) throw new Error(`${what}: the ${role} of both products must lie in one buffer (${p.label} and ${q.label} do not)`);
  const d = q.byteOffset - p.byteOffset;
  if (d < 0) throw new Error(`${what}: of the ${role}, the second (${q.label}) must lie after the first (${p.label}) in their buffer`);
  if (d === 0 && q.byteLength !== p.byteLength) throw new Error(`${what}: ${p.label} and ${q.label} start together but differ in size`);
  return { binding: { buffer: p.buffer, offset: p.byteOffset, size: d + q.byteLength }, stride: d / 4 };
}

function sameShape(a: number[], b: number[], what: string, text: string): void {
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) throw new ShapeError(`${what}: the two products must have the same shapes (${text}: ${shapeStr(a)} vs ${shapeStr(b)})`);
}

/**
 * Two forward products of the same shape in one dispatch (workgroup_id.z picks one): e.g. both
 * gates of an adaptive LTC layer, zm = [I | u]·Wtmᵀ + btm and za = [I | b]·Wtaᵀ + bta. Each
 * operand of the second product must lie in the same buffer as the first's, after it (or be the
 * same tensor); bias, X2 and accumulate must be alike. Same results as two matmulForward calls.
 */
export function matmulForwardPair(engine: Engine, a: MatmulForwardArgs, b: MatmulForwardArgs, label?: string): Dispatch {
  const what = label ?? `${a.label ?? 'matmulForward'} + ${b.label ?? 'matmulForward'}`;
  const da = forwardDims(a, what);
  const db = forwardDims(b, what);
  sameShape([da.M, da.N, da.K1, da.K2], [db.M, db.N, db.K1, db.K2], what, 'M, N, K1, K2');
  if (!!a.bias !== !!b.bias || !!a.x2 !== !!b.x2 || !!a.accumulate !== !!b.accumulate) throw new Error(`${what}: both products must alike have (or not have) a bias, a second input and accumulate`);
  if (a.w2 || b.w2) throw new Error(`${what}: a pair does not take split weights (w2)`);
  const { M, N, K1, K2 } = da;
  const x1 = batchSpan(a.x, b.x, 'first inputs', what);
  const x2 = a.x2 ? batchSpan(a.x2, b.x2!, 'second inputs', what) : null;
  const w = batchSpan(a.w, b.w, 'weights', what);
  const bias = a.bias ? batchSpan(a.bias, b.bias!, 'biases', what) : null;
  const y = batchSpan(a.y, b.y, 'outputs', what);
  const strides4 = [x1.stride, x2?.stride ?? 0, w.stride].every((z) => z % 4 === 0);
  const vec4 = strides4 && K1 % 4 === 0 && K2 % 4 === 0 && K1 > 0 && M > 0 && N > 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'forward', a, vec4, what);
  return engine.dispatch(
    k,
    { x1: x1.binding, x2: x2?.binding ?? null, w: w.binding, bias: bias?.binding ?? null, y: y.binding },
    { M, N, K1, K2, has_bias: a.bias ? 1 : 0, accumulate: a.accumulate ? 1 : 0, z_x1: x1.stride, z_x2: x2?.stride ?? 0, z_w: w.stride, z_b: bias?.stride ?? 0, z_y: y.stride, w_split: 0, w2_off: 0 },
    [ceilDiv(N, blockCols), ceilDiv(M, blockRows), 2],
    what,
  );
}

/** The shapes of a forward product, checked (ShapeError naming both shapes). */
function forwardDims(a: MatmulForwardArgs, what: string): { M: number; N: number; K1: number; K2: number } {
  const [M, K1] = rows(a.x, what);
  let K2 = 0;
  if (a.x2) {
    const [M2, k2] = rows(a.x2, what);
    if (M2 !== M) throw new ShapeError(`${what}: ${a.x.label} ${shapeStr(a.x.shape)} and ${a.x2.label} ${shapeStr(a.x2.shape)} must have the same number of rows`);
    K2 = k2;
  }
  const [N, KW] = rows(a.w, what);
  if (a.w2) {
    if (!a.x2) throw new ShapeError(`${what}: a second weight ${a.w2.label} ${shapeStr(a.w2.shape)} needs a second input x2`);
    const [N2, KW2] = rows(a.w2, what);
    if (KW !== K1 || N2 !== N || KW2 !== K2) {
      throw new ShapeError(`${what}: ${a.x.label} ${shapeStr(a.x.shape)} · ${a.w.label}ᵀ + ${a.x2.label} ${shapeStr(a.x2.shape)} · ${a.w2.label}ᵀ needs ${a.w.label} ${shapeStr([N, K1])} and ${a.w2.label} ${shapeStr([N, K2])}, got ${shapeStr(a.w.shape)} and ${shapeStr(a.w2.shape)}`);
    }
  } else if (KW !== K1 + K2) {
    const xs = a.x2 ? `[${a.x.label} | ${a.x2.label}] ${shapeStr([M, K1 + K2])}` : `${a.x.label} ${shapeStr(a.x.shape)}`;
    throw new ShapeError(`${what}: ${xs} · ${a.w.label}ᵀ needs ${a.w.label} with ${K1 + K2} columns, got ${shapeStr(a.w.shape)}`);
  }
  if (a.bias && (a.bias.shape.length !== 1 || a.bias.shape[0] !== N)) {
    throw new ShapeError(`${what}: bias ${a.bias.label} has shape ${shapeStr(a.bias.shape)}, expected ${shapeStr([N])}`);
  }
  const [My, Ny] = rows(a.y, what);
  if (My !== M || Ny !== N) throw new ShapeError(`${what}: output ${a.y.label} has shape ${shapeStr(a.y.shape)}, expected ${shapeStr([M, N])}`);
  return { M, N, K1, K2 };
}

export interface MatmulBackwardInputArgs extends MatmulVariantOptions {
  /** dY (M×N). */
  dy: Tensor;
  /** W (N×KW). */
  w: Tensor;
  /** dX (M×K): receives dY·W[:, off:off+K]. */
  dx: Tensor;
  /** First column of W that dX corresponds to (for a concatenated input). */
  colOffset?: number;
  accumulate?: boolean;
  label?: string;
}

/** dX = dY·W[:, off : off+K]  (or +=). */
export function matmulBackwardInput(engine: Engine, a: MatmulBackwardInputArgs): Dispatch {
  const what = a.label ?? 'matmulBackwardInput';
  const { M, N, K, KW, off } = inputDims(a, what);
  // VEC4: rows of dY and W, and the column offset, are whole vec4s.
  const vec4 = N % 4 === 0 && KW % 4 === 0 && off % 4 === 0 && N > 0 && M > 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'backwardInput', a, vec4, what);
  return engine.dispatch(
    k,
    { dy: a.dy, w: a.w, dx: a.dx },
    { M, N, K, KW, off, accumulate: a.accumulate ? 1 : 0, z_dy: 0, z_w: 0, z_dx: 0, z_sum: 1 },
    [ceilDiv(K, blockCols), ceilDiv(M, blockRows), 1],
    what,
  );
}

/**
 * Two input-gradient products of the same shape in one dispatch. `sum: false`: two outputs
 * (dX_0 = dY_0·W_0[:, off:], dX_1 = dY_1·W_1[:, off:]; e.g. du_prev and db_prev of an adaptive
 * layer); `sum: true`: one output, dX = dY_0·W_0[:, off:] + dY_1·W_1[:, off:] (both gates' share of
 * dI), then b.dx must be a.dx. Operands as for matmulForwardPair. Same results as two calls.
 */
export function matmulBackwardInputPair(engine: Engine, a: MatmulBackwardInputArgs, b: MatmulBackwardInputArgs, opts: { sum: boolean }, label?: string): Dispatch {
  const what = label ?? `${a.label ?? 'matmulBackwardInput'} + ${b.label ?? 'matmulBackwardInput'}`;
  const da = inputDims(a, what);
  const db = inputDims(b, what);
  sameShape([da.M, da.N, da.K, da.KW, da.off], [db.M, db.N, db.K, db.KW, db.off], what, 'M, N, K, KW, column offset');
  if (!!a.accumulate !== !!b.accumulate) throw new Error(`${what}: both products must alike accumulate or not`);
  if (opts.sum && a.dx !== b.dx) throw new Error(`${what}: a summed pair writes one output: ${a.dx.label} and ${b.dx.label} differ`);
  const { M, N, K, KW, off } = da;
  const dy = batchSpan(a.dy, b.dy, 'output gradients', what);
  const w = batchSpan(a.w, b.w, 'weights', what);
  const dx = opts.sum ? null : batchSpan(a.dx, b.dx, 'input gradients', what);
  if (dx && dx.stride === 0) throw new Error(`${what}: the two products write the same ${a.dx.label}: use { sum: true }`);
  const vec4 = dy.stride % 4 === 0 && w.stride % 4 === 0 && N % 4 === 0 && KW % 4 === 0 && off % 4 === 0 && N > 0 && M > 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'backwardInput', a, vec4, what);
  return engine.dispatch(
    k,
    { dy: dy.binding, w: w.binding, dx: dx ? dx.binding : a.dx },
    { M, N, K, KW, off, accumulate: a.accumulate ? 1 : 0, z_dy: dy.stride, z_w: w.stride, z_dx: dx?.stride ?? 0, z_sum: opts.sum ? 2 : 1 },
    [ceilDiv(K, blockCols), ceilDiv(M, blockRows), opts.sum ? 1 : 2],
    what,
  );
}

/** The shapes of an input-gradient product, checked. */
function inputDims(a: MatmulBackwardInputArgs, what: string): { M: number; N: number; K: number; KW: number; off: number } {
  const [M, N] = rows(a.dy, what);
  const [Nw, KW] = rows(a.w, what);
  const [Mx, K] = rows(a.dx, what);
  const off = a.colOffset ?? 0;
  if (Nw !== N) throw new ShapeError(`${what}: ${a.dy.label} ${shapeStr(a.dy.shape)} · ${a.w.label} ${shapeStr(a.w.shape)}: inner sizes ${N} and ${Nw} differ`);
  if (Mx !== M) throw new ShapeError(`${what}: ${a.dx.label} has shape ${shapeStr(a.dx.shape)}, expected ${M} rows like ${a.dy.label} ${shapeStr(a.dy.shape)}`);
  if (off + K > KW) throw new ShapeError(`${what}: columns ${off}..${off + K - 1} of ${a.w.label} ${shapeStr(a.w.shape)} do not exist (dX ${shapeStr(a.dx.shape)})`);
  return { M, N, K, KW, off };
}

export interface MatmulBackwardWeightArgs extends MatmulVariantOptions {
  /** dY (M×N). */
  dy: Tensor;
  /** X (M×K). */
  x: Tensor;
  /** dW (N×KW), accumulated in columns off..off+K-1. */
  dw: Tensor;
  /** db (N), accumulated, optional. */
  db?: Tensor | null;
  colOffset?: number;
  label?: string;
}

/** dW[:, off : off+K] += dYᵀ·X;  db += Σ_m dY. */
export function matmulBackwardWeight(engine: Engine, a: MatmulBackwardWeightArgs): Dispatch {
  const what = a.label ?? 'matmulBackwardWeight';
  const { M, N, K, KW, off } = weightDims(a, what);
  // VEC4: rows of X and of dY are whole vec4s (dY is read 4 columns at a time when ROWS = 4).
  const vec4 = K % 4 === 0 && N % 4 === 0 && K > 0 && N > 0 && M > 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'backwardWeight', a, vec4, what);
  return engine.dispatch(
    k,
    { dy: a.dy, x: a.x, dw: a.dw, db: a.db ?? null },
    { M, N, K, KW, off, has_bias: a.db ? 1 : 0, z_dy: 0, z_x: 0, z_dw: 0, z_db: 0, db_in_dw: 0, db_off: 0 },
    [ceilDiv(K, blockCols), ceilDiv(N, blockRows), 1],
    what,
  );
}

/**
 * Two weight-gradient products of the same shape in one dispatch (workgroup_id.z picks one):
 * e.g. dWtm[:, 0:H] += dzmᵀ·I and dWta[:, 0:H] += dzaᵀ·I. Operands as for matmulForwardPair;
 * the column offsets and the presence of db must be alike. Same results as two calls.
 */
export function matmulBackwardWeightPair(engine: Engine, a: MatmulBackwardWeightArgs, b: MatmulBackwardWeightArgs, label?: string): Dispatch {
  const what = label ?? `${a.label ?? 'matmulBackwardWeight'} + ${b.label ?? 'matmulBackwardWeight'}`;
  const da = weightDims(a, what);
  const dbb = weightDims(b, what);
  sameShape([da.M, da.N, da.K, da.KW, da.off], [dbb.M, dbb.N, dbb.K, dbb.KW, dbb.off], what, 'M, N, K, KW, column offset');
  if (!!a.db !== !!b.db) throw new Error(`${what}: both products must alike have (or not have) a bias gradient`);
  const { M, N, K, KW, off } = da;
  const dy = batchSpan(a.dy, b.dy, 'output gradients', what);
  const x = batchSpan(a.x, b.x, 'inputs', what);
  let dw = batchSpan(a.dw, b.dw, 'weight gradients', what);
  const db = a.db ? batchSpan(a.db, b.db!, 'bias gradients', what) : null;
  // dW and db of a pair may interleave in one buffer (the arena: Wtm, btm, Wta, bta); two
  // writable bindings may not overlap, so then one binding covers both and db is an offset in it
  let dbInDw = 0;
  let dbOff = 0;
  if (db && db.binding.buffer === dw.binding.buffer) {
    const start = dw.binding.offset ?? 0;
    if ((db.binding.offset ?? 0) < start) throw new Error(`${what}: ${a.db!.label} must lie after ${a.dw.label} in their buffer`);
    const end = Math.max(start + dw.binding.size!, (db.binding.offset ?? 0) + db.binding.size!);
    dw = { binding: { buffer: dw.binding.buffer, offset: start, size: end - start }, stride: dw.stride };
    dbInDw = 1;
    dbOff = ((db.binding.offset ?? 0) - start) / 4;
  }
  const vec4 = dy.stride % 4 === 0 && x.stride % 4 === 0 && K % 4 === 0 && N % 4 === 0 && K > 0 && N > 0 && M > 0;
  const { kernel: k, blockRows, blockCols } = prepare(engine, 'backwardWeight', a, vec4, what);
  return engine.dispatch(
    k,
    { dy: dy.binding, x: x.binding, dw: dw.binding, db: dbInDw ? null : (db?.binding ?? null) },
    { M, N, K, KW, off, has_bias: a.db ? 1 : 0, z_dy: dy.stride, z_x: x.stride, z_dw: dw.stride, z_db: db?.stride ?? 0, db_in_dw: dbInDw, db_off: dbOff },
    [ceilDiv(K, blockCols), ceilDiv(N, blockRows), 2],
    what,
  );
}

/** The shapes of a weight-gradient product, checked. */
function weightDims(a: MatmulBackwardWeightArgs, what: string): { M: number; N: number; K: number; KW: number; off: number } {
  const [M, N] = rows(a.dy, what);
  const [Mx, K] = rows(a.x, what);
  const [Nw, KW] = rows(a.dw, what);
  const off = a.colOffset ?? 0;
  if (Mx !== M) throw new ShapeError(`${what}: ${a.dy.label} ${shapeStr(a.dy.shape)} and ${a.x.label} ${shapeStr(a.x.shape)} must have the same number of rows`);
  if (Nw !== N || off + K > KW) {
    throw new ShapeError(`${what}: ${a.dw.label} has shape ${shapeStr(a.dw.shape)}, expected ${N} rows and at least ${off + K} columns (dYᵀ·X is ${shapeStr([N, K])} at column ${off})`);
  }
  if (a.db && (a.db.shape.length !== 1 || a.db.shape[0] !== N)) {
    throw new ShapeError(`${what}: ${a.db.label} has shape ${shapeStr(a.db.shape)}, expected ${shapeStr([N])}`);
  }
  return { M, N, K, KW, off };
}
