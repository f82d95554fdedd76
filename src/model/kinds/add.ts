/**
 * 'add': the elementwise sum of two or more inputs of the same shape (a residual connection),
 *   y = Σ_k x_k,   dL/dx_k = dL/dy.
 *   { kind: 'add', from: [a, b, …] }
 */
import { NetSpecError, nodeWhere, shapeText, type NodeKind, type Shape } from '../spec.js';
import { flatSize } from './common.js';

export interface AddConfig {
  B: number;
  shape: Shape;
  /** Values per sample. */
  size: number;
  inputs: number;
}

export const addKind: NodeKind<AddConfig> = {
  kind: 'add',
  summary: 'elementwise sum of inputs of one shape (residual)',
  role: 'layer',
  fields: {},
  inputs: { min: 2, max: 16 },
  reads: 'output',
  spiking: false,
  resolve(ctx) {
    const s0 = ctx.inputs[0]!;
    ctx.inputs.forEach((s, k) => {
      if (s.length !== s0.length || s.some((v, i) => v !== s0[i])) {
        throw new NetSpecError(`${nodeWhere(ctx.node)}: its inputs must have one shape, but "${ctx.node.from![0]}" gives ${shapeText(s0)} and "${ctx.node.from![k]}" gives ${shapeText(s)}`);
      }
    });
    return { B: ctx.B, shape: s0, size: flatSize(s0), inputs: ctx.inputs.length };
  },
  outShape: (c) => c.shape,
  params: () => [],
  state: () => [],
};
