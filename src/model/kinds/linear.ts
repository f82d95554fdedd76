/**
 * 'linear': a linear head on a spiking node's membrane after the reset, y = Wl·u + bl (B×O);
 * loss: mean squared error on targets (the Add task).
 *   { kind: 'linear', outputs?: 1, weight?: 1 }
 */
import type { LinearHeadConfig } from '../readout_config.js';
import type { NodeKind } from '../spec.js';
import { flatSize, membraneInput, num } from './common.js';

export type LinearNodeConfig = LinearHeadConfig & { weight: number };

export const linearKind: NodeKind<LinearNodeConfig> = {
  kind: 'linear',
  summary: 'linear head on the membrane potential, mean squared error on targets',
  role: 'head',
  fields: {
    outputs: { type: 'int', min: 1 },
    weight: { type: 'number', positive: true },
  },
  inputs: { min: 1, max: 1 },
  reads: 'membrane',
  spiking: false,
  resolve(ctx) {
    membraneInput(ctx);
    return { B: ctx.B, H: flatSize(ctx.inputs[0]!), O: num(ctx.node, 'outputs') ?? 1, weight: num(ctx.node, 'weight') ?? 1 };
  },
  outShape: (c) => [c.O],
  params: (c) => [
    { name: 'Wl', shape: [c.O, c.H], sym: 'O×H', init: 'xavier' },
    { name: 'bl', shape: [c.O], sym: 'O', init: 'zeros' },
  ],
  state: () => [],
  head: (c) => ({ loss: 'mse', outputs: c.O }),
};
