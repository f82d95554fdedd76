/** The 1-D dispatch helpers of the elementwise kernels: their pipeline variant and workgroup counts. */
import type { Engine } from '../gpu/engine.js';
import { ceilDiv, dispatch1d, type PipelineVariant } from '../gpu/kernel.js';

/** The pipeline variant of an elementwise kernel: its defines, at the adapter's workgroup size. */
export function elementwiseVariant(engine: Engine, defines: Record<string, number> = {}): PipelineVariant {
  return { defines, constants: { WG: engine.tuning.elementwiseWorkgroup } };
}

/** Workgroups of a 1-D elementwise dispatch over n elements. */
export function elementwiseGroups(engine: Engine, n: number): [number, number, number] {
  return dispatch1d(n, engine.tuning.elementwiseWorkgroup, engine.limits.maxComputeWorkgroupsPerDimension);
}

/** Workgroups of a per-neuron reduction over the batch (one invocation per neuron). */
export function paramGradGroups(engine: Engine, H: number): [number, number, number] {
  return [ceilDiv(H, engine.tuning.elementwiseWorkgroup), 1, 1];
}

