/**
 * Every kernel the engine can dispatch, with the pipeline variants it is built in. Tests check
 * each against its WGSL (test/gpu/registry.test.ts: bindings, access modes and uniform fields
 * with wgsl_reflect, and that the pipeline builds on the adapter).
 */
import type { KernelSpec, PipelineVariant } from '../gpu/kernel.js';
import { channelNormRegistry } from './channel_norm.js';
import { conv2dRegistry } from './conv2d.js';
import { ELEMENTWISE_KERNELS } from './elementwise.js';
import { FPTT_UPDATE_APPLY, FPTT_UPDATE_KERNELS, FPTT_UPDATE_NORM_PARTIALS } from './fptt_update.js';
import { MATMUL_KERNELS, MATMUL_SHARED_KERNELS, matmulSharedVariants, matmulVariants } from './matmul.js';
import { LOSS_KERNELS } from './loss.js';
import { NEURON_KERNELS, SURROGATE_DEFINES } from './neuron.js';
import { READOUT_KERNELS } from './readout.js';
import { pool2dRegistry } from './pool2d.js';
import { tensorOpsRegistry } from './tensor_ops.js';
import { allElementwiseWorkgroups, allUpdateWorkgroups } from './tuning.js';
import { yoloLossRegistry } from './yolo_loss.js';

export interface RegisteredKernel {
  spec: KernelSpec;
  /** Variants to validate (every define set the launchers can choose). */
  variants: PipelineVariant[];
}

// every register tiling of the tuning table and the candidates × VEC4 on/off × with/without SUBGROUPS (src/kernels/matmul.ts)
const matmulVariantList: PipelineVariant[] = matmulVariants();
// every shared tiling of the table and of matmulCandidates() (shaders/matmul_shared.wgsl)
const matmulSharedVariantList: PipelineVariant[] = matmulSharedVariants();

// fptt_update: every update workgroup size of the tuning table and of the autotuner's candidates;
// the partials and apply kernels in each mode (FPTT or plain) with each optimiser (adam, adamax).
const fpttUpdateVariants = (modes: boolean): PipelineVariant[] =>
  allUpdateWorkgroups().flatMap((wg) =>
    modes
      ? [0, 1].flatMap((fptt) => [0, 1].map((adamax) => ({ constants: { WG_SIZE: wg, FPTT_MODE: fptt, ADAMAX_MODE: adamax } })))
      : [{ constants: { WG_SIZE: wg } }],
  );

// every (liquid, adapt, surrogate) combination the layers can ask for
const neuronVariants: PipelineVariant[] = [];
for (const liquid of [0, 1]) {
  for (const adapt of [0, 1]) {
    for (const chosen of Object.values(SURROGATE_DEFINES)) {
      const defines: Record<string, number> = { LIQUID: liquid, ADAPT: adapt };
      for (const name of Object.values(SURROGATE_DEFINES)) defines[name] = name === chosen ? 1 : 0;
      neuronVariants.push({ defines, constants: { WG: 64 } });
    }
  }
}

export const KERNEL_REGISTRY: RegisteredKernel[] = [
  ...MATMUL_KERNELS.map((spec) => ({ spec, variants: matmulVariantList })),
  ...MATMUL_SHARED_KERNELS.map((spec) => ({ spec, variants: matmulSharedVariantList })),
  ...NEURON_KERNELS.map((spec) => ({ spec, variants: neuronVariants })),
  ...READOUT_KERNELS.map((spec) => ({ spec, variants: [0, 1].map((liquid) => ({ defines: { LIQUID: liquid }, constants: { WG: 64 } })) })),
  ...LOSS_KERNELS.map((spec) => ({ spec, variants: [{ constants: { WG: 64 } }] })),
  ...ELEMENTWISE_KERNELS.map((spec) => ({ spec, variants: allElementwiseWorkgroups().map((wg) => ({ constants: { WG: wg } })) })),
  ...FPTT_UPDATE_KERNELS.map((spec) => ({ spec, variants: fpttUpdateVariants(spec === FPTT_UPDATE_NORM_PARTIALS || spec === FPTT_UPDATE_APPLY) })),
  ...conv2dRegistry(),
  ...pool2dRegistry(),
  ...channelNormRegistry(),
  ...tensorOpsRegistry(),
  ...yoloLossRegistry(),
];
