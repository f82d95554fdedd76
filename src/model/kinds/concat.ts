/**
 * 'concat': inputs stacked along the channels (images of one height and width, or flat features),
 *   y[b, c_off(k) + c, p] = x_k[b, c, p],   dL/dx_k = the channels [c_off(k), c_off(k) + C_k) of dL/dy.
 *   { kind: 'concat', from: [a, b, …] }
 */
import { NetSpecError, nodeWhere, shapeText, type NodeKind, type Shape } from '../spec.js';

export interface ConcatConfig {
  B: number;
  /** Channels of each input (flat inputs: their features). */
  channels: number[];
  /** Positions per channel, H·W (1 for flat inputs). */
  P: number;
  shape: Shape;
}

export const concatKind: NodeKind<ConcatConfig> = {
  kind: 'concat',
  summary: 'inputs stacked along the channels',
  role: 'layer',
  fields: {},
  inputs: { min: 2, max: 16 },
  reads: 'output',
  spiking: false,
  resolve(ctx) {
    const s0 = ctx.inputs[0]!;
    ctx.inputs.forEach((s, k) => {
      const clash = s.length !== s0.length || (s.length === 3 && (s[1] !== s0[1] || s[2] !== s0[2]));
      if (clash) {
        throw new NetSpecError(
          `${nodeWhere(ctx.node)}: inputs are stacked along the channels, so they need one ${s0.length === 3 ? 'height and width' : 'kind of shape'}, but "${ctx.node.from![0]}" gives ${shapeText(s0)} and "${ctx.node.from![k]}" gives ${shapeText(s)}`,
        );
      }
    });
    const channels = ctx.inputs.map((s) => s[0]);
    const total = channels.reduce((a, b) => a + b, 0);
    const shape: Shape = s0.length === 3 ? [total, s0[1]!, s0[2]!] : [total];
    return { B: ctx.B, channels, P: s0.length === 3 ? s0[1]! * s0[2]! : 1, shape };
  },
  outShape: (c) => c.shape,
  params: () => [],
  state: () => [],
};
