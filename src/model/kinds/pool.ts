/**
 * 'pool': max or average pooling of an image (no parameters, no state, padding 0).
 *   { kind: 'pool', op: 'max' | 'avg', kernel, stride?: kernel }
 */
import { poolLayerConfig, type PoolLayerConfig, type PoolOp } from '../conv_config.js';
import type { NodeKind } from '../spec.js';
import { imageInput, named, num } from './common.js';

export const poolKind: NodeKind<PoolLayerConfig> = {
  kind: 'pool',
  summary: 'max or average pooling of an image',
  role: 'layer',
  fields: {
    op: { type: 'enum', values: ['max', 'avg'], required: true },
    kernel: { type: 'int', min: 1, required: true },
    stride: { type: 'int', min: 1 },
  },
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: false,
  resolve(ctx) {
    const n = ctx.node;
    const input = imageInput(ctx);
    return named(n, () => poolLayerConfig(ctx.B, input, n['op'] as PoolOp, num(n, 'kernel')!, num(n, 'stride')));
  },
  outShape: (c) => [c.C, c.Hout, c.Wout],
  params: () => [],
  state: () => [],
};
