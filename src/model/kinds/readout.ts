/**
 * 'readout': the leaky readout head (liquid τo gate or per-class factor po) of its input's output
 * (spikes, read flattened) → o (B×C); loss: cross-entropy on class labels (SPEC §4).
 *   { kind: 'readout', classes: C, liquid?: true, weight?: 1 }
 */
import { readoutParamShapes, type ReadoutConfig } from '../readout_config.js';
import type { LocalParam, NodeKind } from '../spec.js';
import { bool, flatSize, num } from './common.js';

const SYM: Record<string, string> = { Wo: 'C×H', bo: 'C', Wto: 'C×2C', bto: 'C', po: 'C' };

export type ReadoutNodeConfig = ReadoutConfig & { weight: number };

export const readoutKind: NodeKind<ReadoutNodeConfig> = {
  kind: 'readout',
  summary: 'leaky readout head, cross-entropy on class labels',
  role: 'head',
  fields: {
    classes: { type: 'int', min: 1, required: true },
    liquid: { type: 'bool' },
    weight: { type: 'number', positive: true },
  },
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: false,
  resolve: (ctx) => ({ B: ctx.B, H: flatSize(ctx.inputs[0]!), C: num(ctx.node, 'classes')!, liquid: bool(ctx.node, 'liquid') ?? true, weight: num(ctx.node, 'weight') ?? 1 }),
  outShape: (c) => [c.C],
  params: (c) =>
    readoutParamShapes(c).map(([name, r, cols]): LocalParam => {
      const sym = SYM[name]!;
      const matrix = sym.includes('×');
      return { name, shape: matrix ? [r, cols] : [r], sym, init: matrix ? 'xavier' : 'zeros' };
    }),
  state: (c) => [{ name: 'o', size: c.C, shape: [c.B, c.C] }],
  head: (c) => ({ loss: 'xent', outputs: c.C }),
};
