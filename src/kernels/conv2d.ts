/**
 * Launchers for shaders/conv2d.wgsl (NCHW 2-D convolution: forward, input gradient, weight
 * gradient). Each checks every shape before anything is dispatched (ShapeError naming both
 * shapes) and returns a prepared Dispatch (bind group and uniforms built once).
 *
 * Two-input form: `x2` (same shape as `x`) makes the input the elementwise sum X1 + X2 —
 * Y = conv(X1 + X2, W) + b — without materialising the sum (the conv LTC gate's I + u_prev).
 * Its input gradient is the same for both: dX1 = dX2 = dX, so conv2dBackwardInput runs once and
 * its result serves both inputs; conv2dBackwardWeight takes the same x2.
 *
 * Tiling per adapter (CONV_TUNING, keyed like src/kernels/tuning.ts rows):
 *   ROWS       rows per invocation (1–4): output pixels (forward), input pixels (input gradient),
 *              input channels at one tap (weight gradient)                  — a WGSL define
 *   COLS       columns per invocation (4 or 8): output channels (forward, weight gradient),
 *              input channels (input gradient)                              — a WGSL define
 *   WG         invocations per workgroup (a multiple of 4)                  — an override constant
 *   subgroups  share column vectors by subgroupBroadcast when the device has 'subgroups' with
 *              subgroup size ≥ 4, else every invocation loads its own.
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { ceilDiv, type Dispatch, type KernelSpec, type PipelineVariant } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2dGeometry, type Conv2dGeometry, type Conv2dOptions } from '../model/conv_config.js';
import { CONV_CANDIDATES } from './tuning.js';

export { convFlops, conv2dGeometry, type Conv2dGeometry, type Conv2dOptions, type ConvFlops } from '../model/conv_config.js';

const CONV_PARAMS = [
  ['N', 'u32'], ['C_in', 'u32'], ['H', 'u32'], ['W', 'u32'],
  ['C_out', 'u32'], ['OH', 'u32'], ['OW', 'u32'], ['KH', 'u32'],
  ['KW', 'u32'], ['stride_y', 'u32'], ['stride_x', 'u32'], ['pad_y', 'u32'],
  ['pad_x', 'u32'], ['dil_y', 'u32'], ['dil_x', 'u32'], ['has_bias', 'u32'],
  ['accumulate', 'u32'],
] as const;

export const CONV2D_FORWARD: KernelSpec = {
  name: 'conv2d_forward',
  file: 'conv2d.wgsl',
  entry: 'conv2d_forward',
  params: CONV_PARAMS,
  storage: [
    { name: 'x1', access: 'read' },
    { name: 'x2', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const CONV2D_BACKWARD_INPUT: KernelSpec = {
  name: 'conv2d_backward_input',
  file: 'conv2d.wgsl',
  entry: 'conv2d_backward_input',
  params: CONV_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
};

export const CONV2D_BACKWARD_WEIGHT: KernelSpec = {
  name: 'conv2d_backward_weight',
  file: 'conv2d.wgsl',
  entry: 'conv2d_backward_weight',
  params: CONV_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'x1', access: 'read' },
    { name: 'x2', access: 'read' },
    { name: 'dw', access: 'read_write' },
    { name: 'db', access: 'read_write' },
  ],
};

export const CONV2D_KERNELS = [CONV2D_FORWARD, CONV2D_BACKWARD_INPUT, CONV2D_BACKWARD_WEIGHT];

export interface ConvTiles {
  /** Rows per invocation, 1–4. */
  ROWS: number;
  /** Columns per invocation, 4 or 8. */
  COLS: 4 | 8;
  /** Invocations per workgroup, a multiple of 4. */
  WG: number;
  /** Share column vectors by subgroupBroadcast (when the device allows it). */
  subgroups: boolean;
}

export interface ConvTuning {
  forward: ConvTiles;
  backwardInput: ConvTiles;
  backwardWeight: ConvTiles;
}

/**
 * Rows keyed by the tuning row name of src/kernels/tuning.ts ('swiftshader', 'default').
 * swiftshader: from a sweep of ROWS 2–4 × COLS 4/8 × WG 4/8/16 × subgroups on/off with the
 * 8×64×32×32 → 64, 3×3, pad 1 case (2-core Xeon, SwiftShader via Dawn, a shared and busy
 * machine, so compared by process CPU time): 4×8 with subgroups was best or tied for all three
 * kernels (WG 4–16 within noise); 2×8 and 4×4 were ~25% slower, no subgroups ~20% slower.
 * Each pass took ~0.40–0.50 CPU-seconds (604 MFLOP), i.e. ~2.4–3.0 GFLOP/s if both cores are
 * free. default: a guess for discrete GPUs, not measured.
 */
export const CONV_TUNING: Record<string, ConvTuning> = {
  swiftshader: {
    forward: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
    backwardInput: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
    backwardWeight: { ROWS: 4, COLS: 8, WG: 8, subgroups: true },
  },
  default: {
    forward: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
    backwardInput: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
    backwardWeight: { ROWS: 4, COLS: 8, WG: 64, subgroups: false },
  },
};

/** The conv tiling for the engine's adapter. */
export function convTuningFor(engine: Engine): ConvTuning {
  return engine.tuning.conv ?? CONV_TUNING[engine.tuning.name] ?? CONV_TUNING.default!;
}

/** Whether subgroupBroadcast over 4 lanes can be used on this device. */
export function hasSubgroups4(engine: Engine): boolean {
  if (!engine.ctx.features.has('subgroups')) return false;
  const info = engine.ctx.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number };
  return (info.subgroupMinSize ?? 0) >= 4;
}

/** The pipeline variant (defines and override constants) of a tiling. */
export function convVariant(t: ConvTiles, subgroups: boolean, x2 = false): PipelineVariant {
  if (!Number.isInteger(t.ROWS) || t.ROWS < 1 || t.ROWS > 4) throw new Error(`conv2d: ROWS must be 1..4, got ${t.ROWS}`);
  if (t.COLS !== 4 && t.COLS !== 8) throw new Error(`conv2d: COLS must be 4 or 8, got ${t.COLS}`);
  if (t.WG % 4 !== 0) throw new Error(`conv2d: WG must be a multiple of 4, got ${t.WG}`);
  return {
    defines: {
      ROWS: t.ROWS,
      ROWS_2: t.ROWS >= 2 ? 1 : 0,
      ROWS_3: t.ROWS >= 3 ? 1 : 0,
      ROWS_4: t.ROWS >= 4 ? 1 : 0,
      COLS: t.COLS,
      COLS_8: t.COLS === 8 ? 1 : 0,
      SUBGROUPS: t.subgroups && subgroups ? 1 : 0,
      X2: x2 ? 1 : 0,
    },
    constants: { WG: t.WG },
  };
}

/** Workgroups for `blocks` row blocks × `colBlocks`: rows fold into (x, y), columns on z. */
function grid(engine: Engine, blocks: number, colBlocks: number, what: string): [number, number, number] {
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  const y = ceilDiv(blocks, max);
  const x = ceilDiv(blocks, y);
  if (colBlocks > max || y > max) throw new Error(`${what}: ${blocks}×${colBlocks} workgroups exceed the per-dimension limit ${max}`);
  return [x, y, colBlocks];
}

function dims4(t: Tensor, what: string, role: string): [number, number, number, number] {
  if (t.shape.length !== 4) throw new ShapeError(`${what}: ${role} ${t.label} must be 4-D (N, C, H, W), got ${shapeStr(t.shape)}`);
  return [t.shape[0]!, t.shape[1]!, t.shape[2]!, t.shape[3]!];
}

function same(a: Tensor, b: Tensor, what: string, why: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(`${what}: ${a.label} ${shapeStr(a.shape)} and ${b.label} ${shapeStr(b.shape)} ${why}`);
  }
}

/**
 * Geometry from input (N, Cin, H, W) and weight (Cout, Cin, KH, KW) tensors, checking that they
 * agree and that the kernel fits.
 */
function geometry(x: Tensor, w: Tensor, opts: Conv2dOptions, what: string): Conv2dGeometry {
  const [N, Cin, H, W] = dims4(x, what, 'input');
  const [Cout, Cw, KH, KW] = dims4(w, what, 'weight');
  if (Cw !== Cin) {
    throw new ShapeError(`${what}: input ${x.label} ${shapeStr(x.shape)} has ${Cin} channels but weight ${w.label} ${shapeStr(w.shape)} expects ${Cw}`);
  }
  const g = conv2dGeometry(N, Cin, H, W, Cout, KH, KW, opts);
  if (g.OH < 1 || g.OW < 1 || KH < 1 || KW < 1) {
    throw new ShapeError(`${what}: kernel ${w.label} ${shapeStr(w.shape)} (dilation ${g.dilY}×${g.dilX}) does not fit input ${x.label} ${shapeStr(x.shape)} with padding ${g.padY}×${g.padX}`);
  }
  return g;
}

function expectOut(t: Tensor, shape: number[], what: string, role: string, from: string): void {
  if (t.shape.length !== 4 || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${what}: ${role} ${t.label} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)} (${from})`);
  }
}

function checkBias(b: Tensor, Cout: number, w: Tensor, what: string): void {
  if (b.shape.length !== 1 || b.shape[0] !== Cout) {
    throw new ShapeError(`${what}: bias ${b.label} has shape ${shapeStr(b.shape)}, expected ${shapeStr([Cout])} for weight ${w.label} ${shapeStr(w.shape)}`);
  }
}

function params(g: Conv2dGeometry, hasBias: boolean, accumulate: boolean) {
  return {
    N: g.N, C_in: g.Cin, H: g.H, W: g.W, C_out: g.Cout, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW,
    stride_y: g.strideY, stride_x: g.strideX, pad_y: g.padY, pad_x: g.padX, dil_y: g.dilY, dil_x: g.dilX,
    has_bias: hasBias ? 1 : 0, accumulate: accumulate ? 1 : 0,
  };
}

export interface Conv2dForwardArgs extends Conv2dOptions {
  /** X1 (N, Cin, H, W). */
  x: Tensor;
  /** Optional X2 (N, Cin, H, W): the input is X1 + X2. */
  x2?: Tensor | null;
  /** W (Cout, Cin, KH, KW). */
  w: Tensor;
  /** b (Cout), optional. */
  bias?: Tensor | null;
  /** Y (N, Cout, OH, OW). */
  y: Tensor;
  /** Y += instead of Y =. */
  accumulate?: boolean;
  tiles?: ConvTiles;
  label?: string;
}

/** Y = conv(X1 [+ X2], W) + b  (or +=). */
export function conv2dForward(engine: Engine, a: Conv2dForwardArgs): Dispatch {
  const what = a.label ?? 'conv2dForward';
  const g = geometry(a.x, a.w, a, what);
  if (a.x2) same(a.x, a.x2, what, 'must have the same shape (the input is their sum)');
  if (a.bias) checkBias(a.bias, g.Cout, a.w, what);
  expectOut(a.y, [g.N, g.Cout, g.OH, g.OW], what, 'output', `conv of ${a.x.label} ${shapeStr(a.x.shape)} with ${a.w.label} ${shapeStr(a.w.shape)}`);
  const t = a.tiles ?? convTuningFor(engine).forward;
  const k = engine.kernel(CONV2D_FORWARD, convVariant(t, hasSubgroups4(engine), !!a.x2));
  const rows = g.N * g.OH * g.OW;
  return engine.dispatch(
    k,
    { x1: a.x, x2: a.x2 ?? null, w: a.w, bias: a.bias ?? null, y: a.y },
    params(g, !!a.bias, !!a.accumulate),
    grid(engine, ceilDiv(rows, t.WG * t.ROWS), ceilDiv(g.Cout, t.COLS), what),
    what,
  );
}

export interface Conv2dBackwardInputArgs extends Conv2dOptions {
  /** dY (N, Cout, OH, OW). */
  dy: Tensor;
  /** W (Cout, Cin, KH, KW). */
  w: Tensor;
  /** dX (N, Cin, H, W): its shape gives the input size. With two inputs dX1 = dX2 = dX. */
  dx: Tensor;
  /** dX += instead of dX = (fan-in points). */
  accumulate?: boolean;
  tiles?: ConvTiles;
  label?: string;
}

/** dX = ∂L/∂X from dY (a transposed convolution with W)  (or +=). */
export function conv2dBackwardInput(engine: Engine, a: Conv2dBackwardInputArgs): Dispatch {
  const what = a.label ?? 'conv2dBackwardInput';
  const g = geometry(a.dx, a.w, a, what);
  expectOut(a.dy, [g.N, g.Cout, g.OH, g.OW], what, 'output gradient', `conv of ${a.dx.label} ${shapeStr(a.dx.shape)} with ${a.w.label} ${shapeStr(a.w.shape)}`);
  const t = a.tiles ?? convTuningFor(engine).backwardInput;
  const k = engine.kernel(CONV2D_BACKWARD_INPUT, convVariant(t, hasSubgroups4(engine)));
  const rows = g.N * g.H * g.W;
  return engine.dispatch(
    k,
    { dy: a.dy, w: a.w, dx: a.dx },
    params(g, false, !!a.accumulate),
    grid(engine, ceilDiv(rows, t.WG * t.ROWS), ceilDiv(g.Cin, t.COLS), what),
    what,
  );
}

export interface Conv2dBackwardWeightArgs extends Conv2dOptions {
  /** dY (N, Cout, OH, OW). */
  dy: Tensor;
  /** X1 (N, Cin, H, W). */
  x: Tensor;
  /** Optional X2 (N, Cin, H, W) of the two-input form. */
  x2?: Tensor | null;
  /** dW (Cout, Cin, KH, KW), accumulated. */
  dw: Tensor;
  /** db (Cout), accumulated, optional. */
  db?: Tensor | null;
  tiles?: ConvTiles;
  label?: string;
}

/** dW += Σ dY ⊗ (X1 [+ X2]);  db += Σ dY. */
export function conv2dBackwardWeight(engine: Engine, a: Conv2dBackwardWeightArgs): Dispatch {
  const what = a.label ?? 'conv2dBackwardWeight';
  const g = geometry(a.x, a.dw, a, what);
  if (a.x2) same(a.x, a.x2, what, 'must have the same shape (the input is their sum)');
  if (a.db) checkBias(a.db, g.Cout, a.dw, what);
  expectOut(a.dy, [g.N, g.Cout, g.OH, g.OW], what, 'output gradient', `conv of ${a.x.label} ${shapeStr(a.x.shape)} with ${a.dw.label} ${shapeStr(a.dw.shape)}`);
  const t = a.tiles ?? convTuningFor(engine).backwardWeight;
  const k = engine.kernel(CONV2D_BACKWARD_WEIGHT, convVariant(t, hasSubgroups4(engine), !!a.x2));
  const rows = ceilDiv(g.Cin, t.ROWS) * g.KH * g.KW;
  return engine.dispatch(
    k,
    { dy: a.dy, x1: a.x, x2: a.x2 ?? null, dw: a.dw, db: a.db ?? null },
    params(g, !!a.db, false),
    grid(engine, ceilDiv(rows, t.WG), ceilDiv(g.Cout, t.COLS), what),
    what,
  );
}

/**
 * Every (spec, variant) the launchers can build: each tiling of CONV_TUNING, with and without
 * SUBGROUPS, and (forward, weight gradient) with and without X2; also the autotuner's
 * CONV_CANDIDATES (src/kernels/tuning.ts). For src/kernels/registry.ts.
 */
export function conv2dRegistry(): { spec: KernelSpec; variants: PipelineVariant[] }[] {
  const tilings = new Map<string, ConvTiles>();
  for (const row of Object.values(CONV_TUNING)) {
    for (const t of [row.forward, row.backwardInput, row.backwardWeight]) tilings.set(`${t.ROWS}x${t.COLS}/${t.WG}`, t);
  }
  for (const t of CONV_CANDIDATES) tilings.set(`${t.ROWS}x${t.COLS}/${t.WG}`, t);
  return CONV2D_KERNELS.map((spec) => {
    const variants: PipelineVariant[] = [];
    for (const t of tilings.values()) {
      for (const sg of [false, true]) {
        for (const x2 of spec === CONV2D_BACKWARD_INPUT ? [false] : [false, true]) variants.push(convVariant({ ...t, subgroups: sg }, sg, x2));
      }
    }
    return { spec, variants };
  });
}
