/**
 * Launchers for shaders/tensor_ops.wgsl, the kernels of the graph nodes (residual add, channel
 * concat / split, nearest ×2 upsampling). Sizes are checked before anything is dispatched
 * (ShapeError naming the tensor, its size and the size expected).
 *   add2                y = a + b
 *   channelCopy         dst[:, dOff + c, :] = (or +=) src[:, sOff + c, :], c < count; zeroRest
 *                       zeroes every other dst channel in the same dispatch
 *   upsample2xForward   y (B, C, 2H, 2W) = nearest ×2 of x (B, C, H, W)
 *   upsample2xBackward  dx = (or +=) the sum of dy over each 2×2 block
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import type { Dispatch, KernelSpec } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { elementwiseGroups, elementwiseVariant } from './dispatch1d.js';
import { allElementwiseWorkgroups } from './tuning.js';

export const ADD2: KernelSpec = {
  name: 'add2',
  file: 'tensor_ops.wgsl',
  entry: 'add2',
  params: [['n', 'u32']],
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const CHANNEL_COPY: KernelSpec = {
  name: 'channel_copy',
  file: 'tensor_ops.wgsl',
  entry: 'channel_copy',
  params: [
    ['B', 'u32'], ['P', 'u32'], ['Cs', 'u32'], ['Cd', 'u32'],
    ['s_off', 'u32'], ['d_off', 'u32'], ['n', 'u32'],
    ['accumulate', 'u32'], ['zero_rest', 'u32'],
  ],
  storage: [
    { name: 'src', access: 'read' },
    { name: 'dst', access: 'read_write' },
  ],
};

const UPSAMPLE_PARAMS = [['planes', 'u32'], ['H', 'u32'], ['W', 'u32'], ['accumulate', 'u32']] as const;

export const UPSAMPLE2X_FORWARD: KernelSpec = {
  name: 'upsample2x_forward',
  file: 'tensor_ops.wgsl',
  entry: 'upsample2x_forward',
  params: UPSAMPLE_PARAMS,
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
};

export const UPSAMPLE2X_BACKWARD: KernelSpec = {
  name: 'upsample2x_backward',
  file: 'tensor_ops.wgsl',
  entry: 'upsample2x_backward',
  params: UPSAMPLE_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
};

export const TENSOR_OPS_KERNELS: KernelSpec[] = [ADD2, CHANNEL_COPY, UPSAMPLE2X_FORWARD, UPSAMPLE2X_BACKWARD];

/** Every (spec, variant) the launchers can build (each elementwise workgroup size of the tuning table). */
export function tensorOpsRegistry(): { spec: KernelSpec; variants: { constants: Record<string, number> }[] }[] {
  const sizes = allElementwiseWorkgroups();
  return TENSOR_OPS_KERNELS.map((spec) => ({ spec, variants: sizes.map((wg) => ({ constants: { WG: wg } })) }));
}

// ---- checks ---------------------------------------------------------------------------------------

function expectSize(t: Tensor, n: number, what: string, role: string, expectedFrom: string): void {
  if (t.size !== n) {
    throw new ShapeError(`${what}: ${role} ${t.label} ${shapeStr(t.shape)} has ${t.size} elements, expected ${n} (${expectedFrom})`);
  }
}

function expectF32(t: Tensor, what: string, role: string): void {
  if (t.dtype !== 'f32') throw new ShapeError(`${what}: ${role} ${t} must have dtype f32`);
}

function expectCount(v: number, name: string, what: string, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ShapeError(`${what}: ${name} must be an integer ≥ ${min}, got ${v}`);
}

/** A buffer bound read-only and writable in one dispatch is a WebGPU validation error: say so first. */
function expectDistinct(out: Tensor, inp: Tensor, what: string, outRole: string, inRole: string): void {
  if (out.buffer === inp.buffer) {
    throw new ShapeError(`${what}: ${outRole} ${out} and ${inRole} ${inp} share a buffer; the output must be a separate tensor`);
  }
}

// ---- add2 -----------------------------------------------------------------------------------------

export interface Add2Args {
  a: Tensor;
  /** Same number of elements as a (shapes may differ, e.g. a 4-D view of a 2-D state). */
  b: Tensor;
  /** y = a + b; a separate tensor from a and b. */
  y: Tensor;
  label?: string;
}

/** y = a + b (the residual add's forward). */
export function add2(engine: Engine, args: Add2Args): Dispatch {
  const what = args.label ?? 'add2';
  const { a, b, y } = args;
  for (const [t, role] of [[a, 'input a'], [b, 'input b'], [y, 'output y']] as const) expectF32(t, what, role);
  const from = `the size of a ${a.label} ${shapeStr(a.shape)}`;
  expectSize(b, a.size, what, 'input b', from);
  expectSize(y, a.size, what, 'output y', from);
  expectDistinct(y, a, what, 'output y', 'input a');
  expectDistinct(y, b, what, 'output y', 'input b');
  const k = engine.kernel(ADD2, elementwiseVariant(engine));
  return engine.dispatch(k, { a, b, y }, { n: a.size }, elementwiseGroups(engine, a.size), what);
}

// ---- channel_copy ---------------------------------------------------------------------------------

export interface ChannelCopyArgs {
  /** (batch, srcChannels, positions), any shape with that many elements. */
  src: Tensor;
  /** (batch, dstChannels, positions), any shape with that many elements; a separate tensor from src. */
  dst: Tensor;
  batch: number;
  /** P = H·W of an NCHW tensor, or 1 for flat features (batch, channels). */
  positions: number;
  srcChannels: number;
  dstChannels: number;
  /** First source channel copied. */
  srcOffset: number;
  /** First destination channel written. */
  dstOffset: number;
  /** Channels copied (srcOffset + count ≤ srcChannels, dstOffset + count ≤ dstChannels). */
  count: number;
  /** dst += src on the copied channels instead of dst = src. */
  accumulate: boolean;
  /** Also write 0 to every dst channel outside [dstOffset, dstOffset + count) (not with accumulate). */
  zeroRest?: boolean;
  label?: string;
}

/** dst[b, dstOffset + c, p] = (accumulate ? dst : 0) + src[b, srcOffset + c, p] for c < count. */
export function channelCopy(engine: Engine, args: ChannelCopyArgs): Dispatch {
  const what = args.label ?? 'channelCopy';
  const { src, dst, batch: B, positions: P, srcChannels: Cs, dstChannels: Cd, srcOffset, dstOffset, count } = args;
  const zeroRest = !!args.zeroRest;
  for (const [v, name] of [[B, 'batch'], [P, 'positions'], [Cs, 'srcChannels'], [Cd, 'dstChannels']] as const) expectCount(v, name, what, 1);
  for (const [v, name] of [[srcOffset, 'srcOffset'], [dstOffset, 'dstOffset'], [count, 'count']] as const) expectCount(v, name, what, 0);
  if (srcOffset + count > Cs) {
    throw new ShapeError(`${what}: source channels [${srcOffset}, ${srcOffset + count}) of ${src.label} do not fit its ${Cs} channels`);
  }
  if (dstOffset + count > Cd) {
    throw new ShapeError(`${what}: destination channels [${dstOffset}, ${dstOffset + count}) of ${dst.label} do not fit its ${Cd} channels`);
  }
  if (zeroRest && args.accumulate) {
    throw new ShapeError(`${what}: zeroRest overwrites the other channels of ${dst.label}, so it cannot be combined with accumulate`);
  }
  expectF32(src, what, 'source');
  expectF32(dst, what, 'destination');
  expectSize(src, B * Cs * P, what, 'source', `batch ${B} × srcChannels ${Cs} × positions ${P}`);
  expectSize(dst, B * Cd * P, what, 'destination', `batch ${B} × dstChannels ${Cd} × positions ${P}`);
  expectDistinct(dst, src, what, 'destination', 'source');
  const n = B * (zeroRest ? Cd : count) * P;
  const k = engine.kernel(CHANNEL_COPY, elementwiseVariant(engine));
  const params = {
    B, P, Cs, Cd, s_off: srcOffset, d_off: dstOffset, n: count,
    accumulate: args.accumulate ? 1 : 0, zero_rest: zeroRest ? 1 : 0,
  };
  return engine.dispatch(k, { src, dst }, params, elementwiseGroups(engine, n), what);
}

// ---- upsample2x -----------------------------------------------------------------------------------

export interface Upsample2xForwardArgs {
  /** (batch, channels, height, width). */
  x: Tensor;
  /** (batch, channels, 2·height, 2·width); a separate tensor from x. */
  y: Tensor;
  batch: number;
  channels: number;
  height: number;
  width: number;
  label?: string;
}

export interface Upsample2xBackwardArgs {
  /** (batch, channels, 2·height, 2·width). */
  dy: Tensor;
  /** (batch, channels, height, width); a separate tensor from dy. */
  dx: Tensor;
  batch: number;
  channels: number;
  height: number;
  width: number;
  /** dx += instead of dx =. */
  accumulate: boolean;
  label?: string;
}

function upsampleDims(a: { batch: number; channels: number; height: number; width: number }, what: string) {
  const { batch: B, channels: C, height: H, width: W } = a;
  for (const [v, name] of [[B, 'batch'], [C, 'channels'], [H, 'height'], [W, 'width']] as const) expectCount(v, name, what, 1);
  return { B, C, H, W, small: `batch ${B} × channels ${C} × height ${H} × width ${W}`, big: `batch ${B} × channels ${C} × ${2 * H} × ${2 * W}` };
}

/** y[b, c, 2i + di, 2j + dj] = x[b, c, i, j] (nearest, ×2 along both axes). */
export function upsample2xForward(engine: Engine, args: Upsample2xForwardArgs): Dispatch {
  const what = args.label ?? 'upsample2xForward';
  const d = upsampleDims(args, what);
  const { x, y } = args;
  expectF32(x, what, 'input');
  expectF32(y, what, 'output');
  expectSize(x, d.B * d.C * d.H * d.W, what, 'input', d.small);
  expectSize(y, d.B * d.C * 4 * d.H * d.W, what, 'output', d.big);
  expectDistinct(y, x, what, 'output', 'input');
  const k = engine.kernel(UPSAMPLE2X_FORWARD, elementwiseVariant(engine));
  const params = { planes: d.B * d.C, H: d.H, W: d.W, accumulate: 0 };
  return engine.dispatch(k, { x, y }, params, elementwiseGroups(engine, y.size), what);
}

/** dx[b, c, i, j] = (accumulate ? dx : 0) + Σ_{di, dj ∈ {0, 1}} dy[b, c, 2i + di, 2j + dj]. */
export function upsample2xBackward(engine: Engine, args: Upsample2xBackwardArgs): Dispatch {
  const what = args.label ?? 'upsample2xBackward';
  const d = upsampleDims(args, what);
  const { dy, dx } = args;
  expectF32(dy, what, 'output gradient');
  expectF32(dx, what, 'input gradient');
  expectSize(dy, d.B * d.C * 4 * d.H * d.W, what, 'output gradient', d.big);
  expectSize(dx, d.B * d.C * d.H * d.W, what, 'input gradient', d.small);
  expectDistinct(dx, dy, what, 'input gradient', 'output gradient');
  const k = engine.kernel(UPSAMPLE2X_BACKWARD, elementwiseVariant(engine));
  const params = { planes: d.B * d.C, H: d.H, W: d.W, accumulate: args.accumulate ? 1 : 0 };
  return engine.dispatch(k, { dy, dx }, params, elementwiseGroups(engine, dx.size), what);
}
