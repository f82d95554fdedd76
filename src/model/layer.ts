/**
 * The contract between the graph scheduler (src/model/network.ts) and the GPU nodes (llm.c style:
 * every node records an explicit forward and an explicit local backward; no tape).
 *
 * A chunk has positions j = 0..L−1. A node's output at position j is what its readers read at
 * step j (spikes for spiking nodes). Gradients flow backward within a step: each reader writes
 * dL/d(output_j) into the node's `outputGrad(j)`. Where a node feeds several readers the
 * scheduler decides how each writes: the first to run (the last reader in topological order)
 * writes as the target's own rule says (`=`, or `+=` where the buffer already holds the gradient
 * that came back from step j+1: a stateful node's state gradient before the chunk's end), every
 * later one adds. A node's backward writes each of its input-gradient targets in full, and takes
 * its input slots from the last to the first.
 */
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';

/** Which kind of backward a chunk position runs. */
export interface StepRole {
  /** j is the chunk's last step: no gradient comes back from j+1. */
  isEnd: boolean;
  /** This step has a loss term (for a head: this head's loss). */
  hasLoss: boolean;
}

/** Where dL/d(something) is written, and whether to add to what is there. */
export interface GradTarget {
  tensor: Tensor;
  accumulate(role: StepRole): boolean;
}

/** What the readers of a spiking node write into its state gradient within the step. */
export interface AboveWrites {
  /** dL/ds (spikes) is written by some reader. */
  ds: boolean;
  /** dL/du (membrane) is written by a head on u. */
  du: boolean;
}

/** Where the network's parameters and their gradients live (the FPTT arena), by full name. */
export interface ParamStore {
  param(name: string): Tensor;
  grad(name: string): Tensor;
}

export interface GpuNode {
  readonly name: string;
  /** State tensors by local name (u, s, b; o for a readout), empty for stateless nodes. */
  readonly stateNames: readonly string[];
  /** The output read at step j, (B, per-sample size). */
  output(j: number): Tensor;
  /** Where readers write dL/d(output_j), and the first writer's rule. */
  outputGrad(j: number): GradTarget;
  /** Dispatches of step j; `inputs` per `from` slot. */
  forward(j: number, inputs: Tensor[]): Dispatch[];
  /** Dispatches of the local backward of step j; `dInputs[k]` receives dL/d(input k) (null for the network input). */
  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], above: AboveWrites): Dispatch[];
  /** A state tensor at chunk position `pos` (0 = the state carried into the chunk). */
  stateTensor(pos: number, name: string): Tensor;
  /** Record the copy of the state after position L into position 0. */
  encodeCarry(enc: GPUCommandEncoder, L: number): void;
  destroy(): void;
}

/** A node with a membrane (dense or conv LTC / LIF / ALIF). */
export interface SpikingNode extends GpuNode {
  /** u after the reset at step j (what a head on the membrane reads). */
  membrane(j: number): Tensor;
  /** Where a head on the membrane writes dL/du of step j. */
  membraneGrad(j: number): GradTarget;
  /** u' (the membrane before the reset) of step j, for plots. */
  preResetMembrane(j: number): Tensor;
}

/** Loss weights of one step of a head (see src/train/trainer.ts). */
export interface LossWeights {
  /** Classification: the mix weight (t+1)/T of ℓ_t; regression: the MSE's weight. */
  w: number;
  /** A factor on the whole loss term (the head's weight, and 1/T for BPTT classification). */
  scale: number;
  /** Count accuracy / error at this step (the sequence's last). */
  countPrediction: boolean;
}

/** A head: a node with a loss, read by no node. */
export interface HeadNode extends GpuNode {
  readonly loss: 'xent' | 'mse' | 'yolo';
  /** Classes (xent), target values per sample (mse) or head-map values per sample (yolo). */
  readonly outputs: number;
  /** Loss and prediction accumulators of this head (src/kernels/loss.ts METRIC words). */
  readonly metrics: Tensor;
  /** The loss dispatches of position j (uniforms set by setLoss before each submit). */
  lossDispatches(j: number): Dispatch[];
  setLoss(j: number, o: LossWeights): void;
}

export function isSpikingNode(n: GpuNode): n is SpikingNode {
  return typeof (n as Partial<SpikingNode>).membraneGrad === 'function';
}

export function isHeadNode(n: GpuNode): n is HeadNode {
  return typeof (n as Partial<HeadNode>).lossDispatches === 'function';
}
