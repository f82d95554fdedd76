/**
 * 'split': the channels [start, start + count) of its input (an image, or flat features),
 *   y[b, c, p] = x[b, start + c, p],   dL/dx = dL/dy in those channels, 0 in the others.
 * Two split nodes over one input give a channel split into two halves.
 *   { kind: 'split', start, count }
 */
import { NetSpecError, nodeWhere, shapeText, type NodeKind, type Shape } from '../spec.js';
import { num } from './common.js';

export interface SplitConfig {
  B: number;
  /** Channels of the input. */
  C: number;
  /** Positions per channel, H·W (1 for flat inputs). */
  P: number;
  start: number;
  count: number;
  shape: Shape;
}

export const splitKind: NodeKind<SplitConfig> = {
  kind: 'split',
  summary: 'a range of channels of its input',
  role: 'layer',
  fields: {
    start: { type: 'int', min: 0, required: true },
    count: { type: 'int', min: 1, required: true },
  },
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: false,
  resolve(ctx) {
    const s = ctx.inputs[0]!;
    const start = num(ctx.node, 'start')!;
    const count = num(ctx.node, 'count')!;
    if (start + count > s[0]) {
      throw new NetSpecError(`${nodeWhere(ctx.node)}: channels [${start}, ${start + count}) do not fit its input "${ctx.node.from![0]}", which gives ${shapeText(s)} (${s[0]} channels)`);
    }
    const shape: Shape = s.length === 3 ? [count, s[1]!, s[2]!] : [count];
    return { B: ctx.B, C: s[0], P: s.length === 3 ? s[1]! * s[2]! : 1, start, count, shape };
  },
  outShape: (c) => c.shape,
  params: () => [],
  state: () => [],
};
