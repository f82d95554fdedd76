/**
 * The contract between the network and its layers (llm.c style: every layer records an explicit
 * forward and an explicit local backward; no tape).
 *
 * A chunk has positions j = 0..L−1. A layer's output at position j is what the next layer reads
 * at step j (spikes for spiking layers). Gradients flow down within a step: the layer above writes
 * dL/d(output_j) into `outputGrad(j)`, with `=` or `+=` as that target says (a stateful layer's
 * target also holds the gradient coming back from step j+1, so it is accumulated into except at
 * the chunk's last step, where nothing came back yet).
 */
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';

/** Which kind of backward a chunk position runs. */
export interface StepRole {
  /** j is the chunk's last step: no gradient comes back from j+1. */
  isEnd: boolean;
  /** This step has a loss term. */
  hasLoss: boolean;
}

/** Where dL/d(something) is written, and whether to add to what is there. */
export interface GradTarget {
  tensor: Tensor;
  accumulate(role: StepRole): boolean;
}

/** What the layer above (or the head) writes into this layer's gradient at a chunk's end. */
export interface AboveWrites {
  /** dL/ds (spikes) is written by the layer above or by a readout. */
  ds: boolean;
  /** dL/du (membrane) is written by a head on u (regression). */
  du: boolean;
}

/** Where the network's parameters and their gradients live (the FPTT arena). */
export interface ParamStore {
  param(name: string): Tensor;
  grad(name: string): Tensor;
}

export interface NetLayer {
  readonly index: number;
  /** Output elements per sample. */
  readonly outSize: number;
  /** State tensors by name (u, s, b), empty for stateless layers. */
  readonly stateNames: readonly string[];
  /** The output read by the layer above at step j, (B, outSize). */
  output(j: number): Tensor;
  /** Where the layer above writes dL/d(output_j). */
  outputGrad(j: number): GradTarget;
  /** Dispatches of step j; `x` is the input at step j, (B, inSize). */
  forward(j: number, x: Tensor): Dispatch[];
  /** Dispatches of the local backward of step j; `dx` receives dL/dx (null for the first layer). */
  backward(j: number, role: StepRole, x: Tensor, dx: GradTarget | null, above: AboveWrites): Dispatch[];
  /** A state tensor at chunk position `pos` (0 = the state carried into the chunk). */
  stateTensor(pos: number, name: string): Tensor;
  /** Record the copy of the state after position L into position 0. */
  encodeCarry(enc: GPUCommandEncoder, L: number): void;
  destroy(): void;
}

/** A layer with a membrane (dense or conv LTC / LIF / ALIF): what the heads read. */
export interface SpikingLayer extends NetLayer {
  /** Where a head on the membrane writes dL/du of step j. */
  membraneGrad(j: number): GradTarget;
  /** u' (the membrane before the reset) of step j, for plots. */
  preResetMembrane(j: number): Tensor;
}

export function isSpiking(l: NetLayer): l is SpikingLayer {
  return typeof (l as Partial<SpikingLayer>).membraneGrad === 'function';
}
