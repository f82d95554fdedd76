/** Kernels of shaders/loss.wgsl: the per-step task losses, their gradients and the metrics words. */
import type { KernelSpec } from '../gpu/kernel.js';

/** Words of the metrics buffer the loss kernels add to (shaders/loss.wgsl's header). */
export const METRIC = {
  /** Σ loss over the window. */
  LOSS_SUM: 0,
  /** Number of loss evaluations. */
  LOSS_COUNT: 1,
  /** Correct predictions (classification). */
  CORRECT: 2,
  /** Predictions counted. */
  PREDICTIONS: 3,
  /** Σ squared error of the counted predictions (regression). */
  SQUARED_ERROR: 4,
  /** High 16 bits of the update of the first non-finite loss (0: none). */
  NONFINITE_UPDATE_HI: 5,
  /** That loss value. */
  NONFINITE_VALUE: 6,
  /** Low 16 bits of that update. */
  NONFINITE_UPDATE_LO: 7,
} as const;

/** Words in the metrics buffer. */
export const METRIC_WORDS = 8;

export const XENT_LOSS: KernelSpec = {
  name: 'xent_loss',
  file: 'loss.wgsl',
  entry: 'xent_loss',
  params: [['B', 'u32'], ['C', 'u32'], ['has_q', 'u32'], ['count_pred', 'u32'], ['w', 'f32'], ['scale', 'f32']],
  storage: [
    { name: 'o', access: 'read' },
    { name: 'labels', access: 'read' },
    { name: 'q', access: 'read' },
    { name: 'dloss', access: 'read_write' },
    { name: 'metrics', access: 'read_write' },
    // the optimiser's state (word 0: updates done), to name the update of a non-finite loss
    { name: 'step', access: 'read' },
  ],
};

export const MSE_LOSS: KernelSpec = {
  name: 'mse_loss',
  file: 'loss.wgsl',
  entry: 'mse_loss',
  params: [['B', 'u32'], ['O', 'u32'], ['count_pred', 'u32'], ['w', 'f32']],
  storage: [
    { name: 'pred', access: 'read' },
    { name: 'target', access: 'read' },
    { name: 'dpred', access: 'read_write' },
    { name: 'metrics', access: 'read_write' },
    { name: 'step', access: 'read' },
  ],
};

export const LOSS_KERNELS = [XENT_LOSS, MSE_LOSS];
