/**
 * Launchers for shaders/pool2d.wgsl (max and average pooling, NCHW, forward and backward). Shapes
 * are checked before anything is dispatched (ShapeError naming both shapes).
 *   maxPool2dForward   Y =, argmax = (u32, index iy·W + ix in the plane, saved for the backward)
 *   maxPool2dBackward  dX = (or += with accumulate)
 *   avgPool2dForward   Y =
 *   avgPool2dBackward  dX = (or += with accumulate)
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { ceilDiv, type Dispatch, type KernelSpec } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { pool2dGeometry, type Pool2dGeometry, type Pool2dOptions } from '../model/conv_config.js';
import { allElementwiseWorkgroups } from './tuning.js';

export { pool2dGeometry, type Pool2dGeometry, type Pool2dOptions } from '../model/conv_config.js';

const POOL_PARAMS = [
  ['N', 'u32'], ['C', 'u32'], ['H', 'u32'], ['W', 'u32'],
  ['OH', 'u32'], ['OW', 'u32'], ['KH', 'u32'], ['KW', 'u32'],
  ['stride_y', 'u32'], ['stride_x', 'u32'], ['pad_y', 'u32'], ['pad_x', 'u32'],
  ['count_include_pad', 'u32'], ['accumulate', 'u32'],
] as const;

export const POOL2D_MAX_FORWARD: KernelSpec = {
  name: 'pool2d_max_forward',
  file: 'pool2d.wgsl',
  entry: 'pool2d_max_forward',
  params: POOL_PARAMS,
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
    { name: 'argmax', access: 'read_write' },
  ],
};

export const POOL2D_MAX_BACKWARD: KernelSpec = {
  name: 'pool2d_max_backward',
  file: 'pool2d.wgsl',
  entry: 'pool2d_max_backward',
  params: POOL_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'argmax', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
};

export const POOL2D_AVG_FORWARD: KernelSpec = {
  name: 'pool2d_avg_forward',
  file: 'pool2d.wgsl',
  entry: 'pool2d_avg_forward',
  params: POOL_PARAMS,
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const POOL2D_AVG_BACKWARD: KernelSpec = {
  name: 'pool2d_avg_backward',
  file: 'pool2d.wgsl',
  entry: 'pool2d_avg_backward',
  params: POOL_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
};

export const POOL2D_KERNELS = [POOL2D_MAX_FORWARD, POOL2D_MAX_BACKWARD, POOL2D_AVG_FORWARD, POOL2D_AVG_BACKWARD];

function geometryOf(x: Tensor, opts: Pool2dOptions, what: string): Pool2dGeometry {
  if (x.shape.length !== 4) throw new ShapeError(`${what}: input ${x.label} must be 4-D (N, C, H, W), got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const g = pool2dGeometry(N, C, H, W, opts);
  if (g.OH < 1 || g.OW < 1) {
    throw new ShapeError(`${what}: a ${g.KH}×${g.KW} window with padding ${g.padY}×${g.padX} does not fit input ${x.label} ${shapeStr(x.shape)}`);
  }
  return g;
}

function expectShape4(t: Tensor, shape: number[], what: string, role: string, other: Tensor): void {
  if (t.shape.length !== 4 || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${what}: ${role} ${t.label} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)} for ${other.label} ${shapeStr(other.shape)}`);
  }
}

function params(g: Pool2dGeometry, accumulate: boolean) {
  return {
    N: g.N, C: g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW,
    stride_y: g.strideY, stride_x: g.strideX, pad_y: g.padY, pad_x: g.padX,
    count_include_pad: g.countIncludePad ? 1 : 0, accumulate: accumulate ? 1 : 0,
  };
}

/**
 * Planes (n, c) each invocation loops over, per tuning row of src/kernels/tuning.ts: on
 * SwiftShader an invocation costs more than its few loads, so 8 planes per invocation ran ~40%
 * faster (8×64×32×32, 2×2 windows); on a discrete GPU parallelism matters more (a guess).
 */
export const POOL_PLANES_PER_INVOCATION: Record<string, number> = { swiftshader: 8, default: 1 };

/** Workgroup shape (WG_X × WG_Y) for an elementwise workgroup size of the tuning table. */
function poolWorkgroup(wg: number): { WG_X: number; WG_Y: number } {
  const WG_X = wg >= 256 ? 16 : 8;
  return { WG_X, WG_Y: Math.max(1, Math.floor(wg / WG_X)) };
}

/** A 3-D grid over (cols, rows) of one plane × planes (folded: invocations loop over z). */
function launch(engine: Engine, spec: KernelSpec, bindings: Record<string, Tensor>, g: Pool2dGeometry, accumulate: boolean, backward: boolean, what: string): Dispatch {
  const tuning = engine.tuning;
  const wg = poolWorkgroup(tuning.elementwiseWorkgroup);
  const planes = POOL_PLANES_PER_INVOCATION[tuning.name] ?? POOL_PLANES_PER_INVOCATION.default!;
  const k = engine.kernel(spec, { constants: wg });
  const [cols, rows] = backward ? [g.W, g.H] : [g.OW, g.OH];
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  const grid: [number, number, number] = [ceilDiv(cols, wg.WG_X), ceilDiv(rows, wg.WG_Y), Math.min(ceilDiv(g.N * g.C, planes), max)];
  return engine.dispatch(k, bindings, params(g, accumulate), grid, what);
}

export interface MaxPool2dForwardArgs extends Pool2dOptions {
  /** X (N, C, H, W). */
  x: Tensor;
  /** Y (N, C, OH, OW). */
  y: Tensor;
  /** argmax (N, C, OH, OW), dtype u32: index iy·W + ix of each window's maximum in its plane. */
  argmax: Tensor;
  label?: string;
}

/** Y = max over each window; argmax saved for the backward. */
export function maxPool2dForward(engine: Engine, a: MaxPool2dForwardArgs): Dispatch {
  const what = a.label ?? 'maxPool2dForward';
  const g = geometryOf(a.x, a, what);
  const out = [g.N, g.C, g.OH, g.OW];
  expectShape4(a.y, out, what, 'output', a.x);
  expectShape4(a.argmax, out, what, 'argmax', a.x);
  if (a.argmax.dtype !== 'u32') throw new ShapeError(`${what}: argmax ${a.argmax} must have dtype u32`);
  return launch(engine, POOL2D_MAX_FORWARD, { x: a.x, y: a.y, argmax: a.argmax }, g, false, false, what);
}

export interface MaxPool2dBackwardArgs extends Pool2dOptions {
  /** dY (N, C, OH, OW). */
  dy: Tensor;
  /** argmax (N, C, OH, OW), u32, from maxPool2dForward with the same options. */
  argmax: Tensor;
  /** dX (N, C, H, W): its shape gives the input size. */
  dx: Tensor;
  /** dX += instead of dX =. */
  accumulate?: boolean;
  label?: string;
}

/** dX[i] = Σ dY over the windows whose maximum was input i. */
export function maxPool2dBackward(engine: Engine, a: MaxPool2dBackwardArgs): Dispatch {
  const what = a.label ?? 'maxPool2dBackward';
  const g = geometryOf(a.dx, a, what);
  const out = [g.N, g.C, g.OH, g.OW];
  expectShape4(a.dy, out, what, 'output gradient', a.dx);
  expectShape4(a.argmax, out, what, 'argmax', a.dx);
  if (a.argmax.dtype !== 'u32') throw new ShapeError(`${what}: argmax ${a.argmax} must have dtype u32`);
  return launch(engine, POOL2D_MAX_BACKWARD, { dy: a.dy, argmax: a.argmax, dx: a.dx }, g, !!a.accumulate, true, what);
}

export interface AvgPool2dForwardArgs extends Pool2dOptions {
  /** X (N, C, H, W). */
  x: Tensor;
  /** Y (N, C, OH, OW). */
  y: Tensor;
  label?: string;
}

/** Y = mean of each window (divisor KH·KW, or the taps inside the image when countIncludePad is false). */
export function avgPool2dForward(engine: Engine, a: AvgPool2dForwardArgs): Dispatch {
  const what = a.label ?? 'avgPool2dForward';
  const g = geometryOf(a.x, a, what);
  expectShape4(a.y, [g.N, g.C, g.OH, g.OW], what, 'output', a.x);
  return launch(engine, POOL2D_AVG_FORWARD, { x: a.x, y: a.y }, g, false, false, what);
}

export interface AvgPool2dBackwardArgs extends Pool2dOptions {
  /** dY (N, C, OH, OW). */
  dy: Tensor;
  /** dX (N, C, H, W): its shape gives the input size. */
  dx: Tensor;
  /** dX += instead of dX =. */
  accumulate?: boolean;
  label?: string;
}

/** dX[i] = Σ over the windows containing input i of dY / divisor. */
export function avgPool2dBackward(engine: Engine, a: AvgPool2dBackwardArgs): Dispatch {
  const what = a.label ?? 'avgPool2dBackward';
  const g = geometryOf(a.dx, a, what);
  expectShape4(a.dy, [g.N, g.C, g.OH, g.OW], what, 'output gradient', a.dx);
  return launch(engine, POOL2D_AVG_BACKWARD, { dy: a.dy, dx: a.dx }, g, !!a.accumulate, true, what);
}

/** Every (spec, variant) the launchers can build (each elementwise workgroup size of the tuning table). */
export function pool2dRegistry(): { spec: KernelSpec; variants: { constants: Record<string, number> }[] }[] {
  const sizes = allElementwiseWorkgroups();
  return POOL2D_KERNELS.map((spec) => ({ spec, variants: sizes.map((wg) => ({ constants: { ...poolWorkgroup(wg) } })) }));
}
