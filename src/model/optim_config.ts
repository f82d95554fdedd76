/**
 * The optimiser's configuration (SPEC §4, §7): the optimiser kind and its hyper-parameters, the
 * FPTT constants, and their defaults. The updates themselves live in src/ref/optim.ts (the CPU
 * reference) and shaders/fptt_update.wgsl.
 */

export type OptimizerKind = 'adam' | 'adamax';

export interface OptimizerConfig {
  kind: OptimizerKind;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export interface FpttConfig {
  alpha: number; // 0.1 classification, 0.5 Add task
  beta: number; // β_fptt
  clip: number; // c; Infinity disables clipping
}

export const DEFAULT_OPTIMIZER: Readonly<OptimizerConfig> = { kind: 'adam', lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
export const DEFAULT_FPTT: Readonly<FpttConfig> = { alpha: 0.1, beta: 0.5, clip: 1.0 };
