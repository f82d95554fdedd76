/**
 * 'conv_head': a 1×1 convolution of a spiking conv node's membrane potentials after the reset,
 *   y[b, o, p] = Σ_c W[o, c]·u[b, c, p] + bias[o]       (B × O × H × W, p a pixel)
 * loss: mean squared error on a target map of the same shape (what a detector's head reads).
 *   { kind: 'conv_head', outputs: O, weight?: 1 }
 */
import type { NodeKind } from '../spec.js';
import { imageInput, membraneInput, num } from './common.js';

export interface ConvHeadConfig {
  B: number;
  Cin: number;
  H: number;
  W: number;
  O: number;
  weight: number;
}

export const convHeadKind: NodeKind<ConvHeadConfig> = {
  kind: 'conv_head',
  summary: '1×1 conv head on a conv node’s membrane potentials, mean squared error on a target map',
  role: 'head',
  fields: {
    outputs: { type: 'int', min: 1, required: true },
    weight: { type: 'number', positive: true },
  },
  inputs: { min: 1, max: 1 },
  reads: 'membrane',
  spiking: false,
  resolve(ctx) {
    membraneInput(ctx);
    const [Cin, H, W] = imageInput(ctx, 'the spiking node');
    return { B: ctx.B, Cin, H, W, O: num(ctx.node, 'outputs')!, weight: num(ctx.node, 'weight') ?? 1 };
  },
  outShape: (c) => [c.O, c.H, c.W],
  params: (c) => [
    { name: 'W', shape: [c.O, c.Cin, 1, 1], sym: 'O×Cin×1×1', init: 'xavier-conv' },
    { name: 'b', shape: [c.O], sym: 'O', init: 'zeros' },
  ],
  state: () => [],
  head: (c) => ({ loss: 'mse', outputs: c.O * c.H * c.W }),
};
