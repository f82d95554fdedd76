/**
 * 'dense': a dense spiking layer (LTC, LIF or ALIF; SPEC §1). Reads its input's output flattened
 * (an image input is read as its NCHW values, c·H·W + y·W + x).
 *   { kind: 'dense', size: H, cell?: 'ltc' | 'lif' | 'alif', recurrent?: true, adapt?: per cell }
 */
import { ltcConfig, ltcParamShapes, type LtcConfig, type NeuronKind } from '../neuron_config.js';
import type { LocalParam, NodeKind } from '../spec.js';
import { bool, flatSize, named, neuronOptions, num } from './common.js';

const SYM: Record<string, string> = { Wx: 'H×D', Wr: 'H×H', bx: 'H', Wtm: 'H×2H', btm: 'H', Wta: 'H×2H', bta: 'H', pm: 'H', pa: 'H' };

export const denseKind: NodeKind<LtcConfig> = {
  kind: 'dense',
  summary: 'dense spiking layer (LTC / LIF / ALIF), input read flattened',
  role: 'layer',
  fields: {
    size: { type: 'int', min: 1, required: true },
    cell: { type: 'enum', values: ['ltc', 'lif', 'alif'] },
    recurrent: { type: 'bool' },
    adapt: { type: 'bool' },
  },
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: true,
  resolve(ctx) {
    const n = ctx.node;
    const adapt = bool(n, 'adapt');
    return named(n, () =>
      ltcConfig(ctx.B, flatSize(ctx.inputs[0]!), num(n, 'size')!, {
        kind: (n['cell'] as NeuronKind | undefined) ?? 'ltc',
        recurrent: bool(n, 'recurrent') ?? true,
        ...(adapt !== undefined ? { adapt } : {}),
        ...neuronOptions(ctx),
      }),
    );
  },
  outShape: (c) => [c.H],
  params: (c) =>
    ltcParamShapes(c).map(([name, r, cols]): LocalParam => {
      const sym = SYM[name]!;
      const matrix = sym.includes('×');
      return { name, shape: matrix ? [r, cols] : [r], sym, init: name === 'Wr' ? 'orthogonal' : matrix ? 'xavier' : 'zeros' };
    }),
  state: (c) => ['u', 's', 'b'].map((name) => ({ name, size: c.H, shape: [c.B, c.H] })),
};
