/**
 * 'conv': a convolutional LTC layer (liquid gates; src/ref/conv_ltc.ts has the equations). Needs an
 * image input. Conv_x is kernel×kernel with the given stride and padding; Conv_r, Conv_τm, Conv_τa
 * are kernel×kernel, stride 1, 'same', channels → channels.
 *   { kind: 'conv', channels, kernel (odd), stride?: 1, padding?: (kernel−1)/2, recurrent?: false, adapt?: true, norm?: true }
 */
import { convLtcConfig, convLtcParamShapes, type ConvLtcConfig } from '../conv_config.js';
import type { LocalParam, NodeKind } from '../spec.js';
import { imageInput, named, neuronOptions, num } from './common.js';

const SYM: Record<string, string> = {
  Wx: 'Cout×Cin×K×K', Wr: 'Cout×Cout×K×K', bx: 'Cout', Wtm: 'Cout×Cout×K×K', btm: 'Cout', Wta: 'Cout×Cout×K×K', bta: 'Cout',
  nm_g: 'Cout', nm_b: 'Cout', na_g: 'Cout', na_b: 'Cout',
};

export const convKind: NodeKind<ConvLtcConfig> = {
  kind: 'conv',
  summary: 'convolutional LTC spiking layer on an image input',
  role: 'layer',
  fields: {
    channels: { type: 'int', min: 1, required: true },
    kernel: { type: 'int', min: 1, required: true, odd: true },
    stride: { type: 'int', min: 1 },
    padding: { type: 'int', min: 0 },
    recurrent: { type: 'bool' },
    adapt: { type: 'bool' },
    norm: { type: 'bool' },
  },
  inputs: { min: 1, max: 1 },
  reads: 'output',
  spiking: true,
  resolve(ctx) {
    const n = ctx.node;
    const input = imageInput(ctx);
    const o: Record<string, unknown> = {};
    for (const k of ['stride', 'padding', 'recurrent', 'adapt', 'norm']) if (n[k] !== undefined) o[k] = n[k];
    return named(n, () => convLtcConfig(ctx.B, input, num(n, 'channels')!, num(n, 'kernel')!, { ...o, ...neuronOptions(ctx) }));
  },
  outShape: (c) => [c.Cout, c.Hout, c.Wout],
  params: (c) =>
    convLtcParamShapes(c).map(([name, shape]): LocalParam => ({
      name,
      shape: [...shape],
      sym: SYM[name]!,
      init: shape.length === 4 ? 'xavier-conv' : name === 'nm_g' || name === 'na_g' ? 'ones' : 'zeros',
    })),
  state: (c) => ['u', 's', 'b'].map((name) => ({ name, size: c.size, shape: [c.B, c.Cout, c.Hout, c.Wout] })),
};
