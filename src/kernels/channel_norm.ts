/**
 * Launchers for shaders/channel_norm.wgsl: per-sample, per-channel normalisation over H×W with a
 * learnable per-channel scale γ and shift β (usable online: only the sample's own statistics).
 *   channelNormForward   Y =, mean =, rstd = (saved for the backward)
 *   channelNormBackward  dX =, dγ +=, dβ +=
 * X may be (N, C, H, W) or (N, C, HW); mean and rstd are (N, C). Shapes are checked before
 * anything is dispatched (ShapeError naming both shapes).
 */
import type { Engine } from '../gpu/engine.js';
import { ShapeError, shapeStr } from '../gpu/errors.js';
import { ceilDiv, type Dispatch, type KernelSpec, type PipelineVariant } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { CHANNEL_NORM_EPS } from '../model/conv_config.js';
import { allElementwiseWorkgroups } from './tuning.js';

export { CHANNEL_NORM_EPS } from '../model/conv_config.js';

const NORM_PARAMS = [['N', 'u32'], ['C', 'u32'], ['HW', 'u32'], ['eps', 'f32']] as const;

export const CHANNEL_NORM_FORWARD: KernelSpec = {
  name: 'channel_norm_forward',
  file: 'channel_norm.wgsl',
  entry: 'channel_norm_forward',
  params: NORM_PARAMS,
  storage: [
    { name: 'x', access: 'read' },
    { name: 'gamma', access: 'read' },
    { name: 'beta', access: 'read' },
    { name: 'y', access: 'read_write' },
    { name: 'mean', access: 'read_write' },
    { name: 'rstd', access: 'read_write' },
  ],
};

export const CHANNEL_NORM_BACKWARD: KernelSpec = {
  name: 'channel_norm_backward',
  file: 'channel_norm.wgsl',
  entry: 'channel_norm_backward',
  params: NORM_PARAMS,
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'x', access: 'read' },
    { name: 'gamma', access: 'read' },
    { name: 'mean', access: 'read' },
    { name: 'rstd', access: 'read' },
    { name: 'dx', access: 'read_write' },
    { name: 'dgamma', access: 'read_write' },
    { name: 'dbeta', access: 'read_write' },
  ],
};

export const CHANNEL_NORM_KERNELS = [CHANNEL_NORM_FORWARD, CHANNEL_NORM_BACKWARD];

/** (N, C, HW) of an (N, C, H, W) or (N, C, HW) tensor. */
function planes(x: Tensor, what: string): [number, number, number] {
  if (x.shape.length === 4) return [x.shape[0]!, x.shape[1]!, x.shape[2]! * x.shape[3]!];
  if (x.shape.length === 3) return [x.shape[0]!, x.shape[1]!, x.shape[2]!];
  throw new ShapeError(`${what}: ${x.label} must be (N, C, H, W) or (N, C, HW), got ${shapeStr(x.shape)}`);
}

function expectSame(t: Tensor, ref: Tensor, what: string): void {
  if (t.shape.length !== ref.shape.length || t.shape.some((d, i) => d !== ref.shape[i])) {
    throw new ShapeError(`${what}: ${t.label} has shape ${shapeStr(t.shape)}, expected ${shapeStr(ref.shape)} like ${ref.label}`);
  }
}

function expectDims(t: Tensor, shape: number[], what: string, ref: Tensor): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${what}: ${t.label} has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)} for ${ref.label} ${shapeStr(ref.shape)}`);
  }
}

function variant(engine: Engine, HW: number) {
  return { defines: { VEC4: HW % 4 === 0 ? 1 : 0 }, constants: { WG: engine.tuning.elementwiseWorkgroup } };
}

export interface ChannelNormForwardArgs {
  /** X (N, C, H, W) or (N, C, HW). */
  x: Tensor;
  /** γ (C). */
  gamma: Tensor;
  /** β (C). */
  beta: Tensor;
  /** Y, same shape as X. */
  y: Tensor;
  /** μ (N, C), saved for the backward. */
  mean: Tensor;
  /** 1/√(σ² + ε) (N, C), saved for the backward. */
  rstd: Tensor;
  /** Default 1e-5. */
  eps?: number;
  label?: string;
}

/** Y = γ (X − μ) / √(σ² + ε) + β per sample and channel, over H×W. */
export function channelNormForward(engine: Engine, a: ChannelNormForwardArgs): Dispatch {
  const what = a.label ?? 'channelNormForward';
  const [N, C, HW] = planes(a.x, what);
  expectSame(a.y, a.x, what);
  expectDims(a.gamma, [C], what, a.x);
  expectDims(a.beta, [C], what, a.x);
  expectDims(a.mean, [N, C], what, a.x);
  expectDims(a.rstd, [N, C], what, a.x);
  if (HW < 1) throw new ShapeError(`${what}: ${a.x.label} ${shapeStr(a.x.shape)} has empty planes`);
  const v = variant(engine, HW);
  const k = engine.kernel(CHANNEL_NORM_FORWARD, v);
  return engine.dispatch(
    k,
    { x: a.x, gamma: a.gamma, beta: a.beta, y: a.y, mean: a.mean, rstd: a.rstd },
    { N, C, HW, eps: a.eps ?? CHANNEL_NORM_EPS },
    [ceilDiv(N * C, v.constants.WG), 1, 1],
    what,
  );
}

export interface ChannelNormBackwardArgs {
  /** dY, same shape as X. */
  dy: Tensor;
  /** X of the forward. */
  x: Tensor;
  /** γ (C). */
  gamma: Tensor;
  /** μ and rstd (N, C) saved by the forward. */
  mean: Tensor;
  rstd: Tensor;
  /** dX, same shape as X (overwritten). */
  dx: Tensor;
  /** dγ (C), accumulated. */
  dgamma: Tensor;
  /** dβ (C), accumulated. */
  dbeta: Tensor;
  label?: string;
}

/** dX = rstd·(g − mean g − x̂·mean(g·x̂)) with g = γ·dY;  dγ += Σ dY·x̂;  dβ += Σ dY. */
export function channelNormBackward(engine: Engine, a: ChannelNormBackwardArgs): Dispatch {
  const what = a.label ?? 'channelNormBackward';
  const [N, C, HW] = planes(a.x, what);
  expectSame(a.dy, a.x, what);
  expectSame(a.dx, a.x, what);
  expectDims(a.gamma, [C], what, a.x);
  expectDims(a.dgamma, [C], what, a.x);
  expectDims(a.dbeta, [C], what, a.x);
  expectDims(a.mean, [N, C], what, a.x);
  expectDims(a.rstd, [N, C], what, a.x);
  const v = variant(engine, HW);
  const k = engine.kernel(CHANNEL_NORM_BACKWARD, v);
  return engine.dispatch(
    k,
    { dy: a.dy, x: a.x, gamma: a.gamma, mean: a.mean, rstd: a.rstd, dx: a.dx, dgamma: a.dgamma, dbeta: a.dbeta },
    { N, C, HW, eps: 0 },
    [ceilDiv(C, v.constants.WG), 1, 1],
    what,
  );
}

/** Every (spec, variant) the launchers can build: VEC4 on/off × each elementwise workgroup size. */
export function channelNormRegistry(): { spec: KernelSpec; variants: PipelineVariant[] }[] {
  const sizes = allElementwiseWorkgroups();
  const variants = sizes.flatMap((wg) => [0, 1].map((vec4) => ({ defines: { VEC4: vec4 }, constants: { WG: wg } })));
  return CHANNEL_NORM_KERNELS.map((spec) => ({ spec, variants }));
}
