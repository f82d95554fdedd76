/**
 * Kernels of shaders/ltc_neuron.wgsl: the fused elementwise LTC / LIF / ALIF step, its local
 * backward and the per-neuron factor gradients (pm, pa) of non-liquid layers.
 */
import type { Engine } from '../gpu/engine.js';
import type { KernelSpec, PipelineVariant } from '../gpu/kernel.js';
import type { Surrogate } from '../model/neuron_config.js';

export const NEURON_FORWARD: KernelSpec = {
  name: 'ltc_forward',
  file: 'ltc_neuron.wgsl',
  entry: 'ltc_forward',
  params: [
    ['B', 'u32'], ['H', 'u32'], ['cs', 'u32'], ['b0', 'f32'], ['beta', 'f32'], ['theta_fixed', 'f32'],
    ['use_du', 'u32'], ['use_ds', 'u32'], ['use_db', 'u32'],
    ['sg_gamma', 'f32'], ['sg_sigma', 'f32'], ['sg_k', 'f32'], ['sg_h', 'f32'], ['sg_alpha', 'f32'],
  ],
  storage: [
    { name: 'state_prev', access: 'read' },
    { name: 'pm', access: 'read' },
    { name: 'pa', access: 'read' },
    { name: 'cur', access: 'read' },
    { name: 'gates', access: 'read_write' },
    { name: 'state', access: 'read_write' },
  ],
};

export const NEURON_BACKWARD: KernelSpec = {
  name: 'ltc_backward',
  file: 'ltc_neuron.wgsl',
  entry: 'ltc_backward',
  params: NEURON_FORWARD.params!,
  storage: [
    { name: 'state_prev', access: 'read' },
    { name: 'state', access: 'read' },
    { name: 'cur', access: 'read' },
    { name: 'gates', access: 'read' },
    { name: 'dstate', access: 'read' },
    { name: 'dcur', access: 'read_write' },
    { name: 'dgates', access: 'read_write' },
    { name: 'dstate_prev', access: 'read_write' },
  ],
};

export const NEURON_PARAM_GRAD: KernelSpec = {
  name: 'neuron_param_grad',
  file: 'ltc_neuron.wgsl',
  entry: 'neuron_param_grad',
  params: [['B', 'u32'], ['H', 'u32'], ['cs', 'u32'], ['adapt', 'u32']],
  storage: [
    { name: 'dgates', access: 'read' },
    { name: 'dpm', access: 'read_write' },
    { name: 'dpa', access: 'read_write' },
  ],
};

export const NEURON_KERNELS = [NEURON_FORWARD, NEURON_BACKWARD, NEURON_PARAM_GRAD];

export const SURROGATE_DEFINES: Record<Surrogate['kind'], string> = {
  'multi-gaussian': 'SURROGATE_IS_MULTI_GAUSSIAN',
  gaussian: 'SURROGATE_IS_GAUSSIAN',
  'fast-sigmoid': 'SURROGATE_IS_FAST_SIGMOID',
};

/** The pipeline variant of the neuron kernels for a layer. */
export function neuronVariant(engine: Engine, liquid: boolean, adapt: boolean, surrogate: Surrogate['kind']): PipelineVariant {
  const defines: Record<string, number> = { LIQUID: liquid ? 1 : 0, ADAPT: adapt ? 1 : 0 };
  for (const [kind, name] of Object.entries(SURROGATE_DEFINES)) defines[name] = kind === surrogate ? 1 : 0;
  return { defines, constants: { WG: engine.tuning.elementwiseWorkgroup } };
}

export interface NeuronConstants {
  b0: number;
  beta: number;
  thetaFixed: number;
  surrogate: Surrogate;
}

/** Uniforms of the neuron kernels; `use` says which components of dL/d(state) hold a gradient. */
export function neuronParams(B: number, H: number, cs: number, c: NeuronConstants, use: { useDu: boolean; useDs: boolean; useDb: boolean }) {
  const p = c.surrogate.params;
  return {
    B, H, cs, b0: c.b0, beta: c.beta, theta_fixed: c.thetaFixed,
    use_du: use.useDu ? 1 : 0, use_ds: use.useDs ? 1 : 0, use_db: use.useDb ? 1 : 0,
    sg_gamma: p.gamma ?? 0, sg_sigma: p.sigma ?? 1, sg_k: p.k ?? 1, sg_h: p.h ?? 0, sg_alpha: p.alpha ?? 0,
  };
}
