/**
 * What every spiking layer (dense or conv LTC / LIF / ALIF) shares: its per-position buffers (see
 * dense_layer.ts), the outputs and gradient targets the network wires together, and the two fused
 * elementwise dispatches of ltc_neuron.wgsl. Subclasses add the products that make I and the gates.
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import { Slot } from '../gpu/slots.js';
import type { Tensor } from '../gpu/tensor.js';
import { elementwiseGroups } from '../kernels/dispatch1d.js';
import { NEURON_BACKWARD, NEURON_FORWARD, neuronParams, neuronVariant, type NeuronConstants } from '../kernels/neuron.js';
import type { AboveWrites, GradTarget, ParamStore, SpikingNode, StepRole } from './layer.js';

export abstract class SpikingLayerBase implements SpikingNode {
  readonly stateNames = ['u', 's', 'b'] as const;
  readonly state: Slot[];
  readonly cur: Tensor[];
  readonly gates: Slot[];
  readonly dcur: Tensor;
  readonly dgates: Slot;
  readonly grad: [Slot, Slot];
  constructor(
    protected readonly engine: Engine,
    /** The node's name: its parameters are `name.Wx`, …, its state `name.u`, …. */
    readonly name: string,
    protected readonly store: ParamStore,
    protected readonly neuron: NeuronConstants & { adapt: boolean },
    /** Liquid gates (LTC) rather than per-neuron factors (LIF / ALIF). */
    readonly liquid: boolean,
    private readonly B: number,
    /** Neurons per sample. */
    readonly outSize: number,
    slots: number,
  ) {
    const shape: [number, number] = [B, outSize];
    this.state = Array.from({ length: slots + 1 }, (_, j) => new Slot(engine, ['u', 's', 'b'], shape, `${name}.state[${j}]`));
    this.cur = Array.from({ length: slots }, (_, j) => engine.tensor(shape, { label: `${name}.I[${j}]` }));
    this.gates = Array.from({ length: slots }, (_, j) => new Slot(engine, ['tm', 'ta', 'uPre'], shape, `${name}.gates[${j}]`));
    this.dcur = engine.tensor(shape, { label: `${name}.dI` });
    this.dgates = new Slot(engine, ['dzm', 'dza'], shape, `${name}.dgates`);
    this.grad = [new Slot(engine, ['u', 's', 'b'], shape, `${name}.grad[0]`), new Slot(engine, ['u', 's', 'b'], shape, `${name}.grad[1]`)];
  }

  protected p(n: string): Tensor {
    return this.store.param(`${this.name}.${n}`);
  }

  protected g(n: string): Tensor {
    return this.store.grad(`${this.name}.${n}`);
  }

  output(j: number): Tensor {
    return this.state[j + 1]!.get('s');
  }

  outputGrad(j: number): GradTarget {
    return { tensor: this.grad[j % 2]!.get('s'), accumulate: (role) => !role.isEnd };
  }

  membrane(j: number): Tensor {
    return this.state[j + 1]!.get('u');
  }

  membraneGrad(j: number): GradTarget {
    return { tensor: this.grad[j % 2]!.get('u'), accumulate: (role) => !role.isEnd };
  }

  preResetMembrane(j: number): Tensor {
    return this.gates[j]!.get('uPre');
  }

  stateTensor(pos: number, name: string): Tensor {
    return this.state[pos]!.get(name);
  }

  /** ltc_forward of step j: τ, b, θ, u', spike and reset, from I and the gate pre-activations. */
  protected neuronForward(j: number, pm: Tensor | null, pa: Tensor | null): Dispatch {
    const e = this.engine;
    const prev = this.state[j]!;
    const k = e.kernel(NEURON_FORWARD, neuronVariant(e, this.liquid, this.neuron.adapt, this.neuron.surrogate.kind));
    return e.dispatch(
      k,
      { state_prev: prev.whole, pm, pa, cur: this.cur[j]!, gates: this.gates[j]!.whole, state: this.state[j + 1]!.whole },
      neuronParams(this.B, this.outSize, prev.cs, this.neuron, { useDu: false, useDs: false, useDb: false }),
      elementwiseGroups(e, this.B * this.outSize),
      `${this.name}.ltc_forward[${j}]`,
    );
  }

  /**
   * ltc_backward of step j: dI, dzm, dza and the direct gradients into the previous state. At the
   * chunk's end dL/d(state_j) holds only what the layer above / the head wrote.
   */
  protected neuronBackward(j: number, role: StepRole, above: AboveWrites): Dispatch {
    const e = this.engine;
    const prev = this.state[j]!;
    const use = { useDu: !role.isEnd || above.du, useDs: !role.isEnd || above.ds, useDb: !role.isEnd };
    const k = e.kernel(NEURON_BACKWARD, neuronVariant(e, this.liquid, this.neuron.adapt, this.neuron.surrogate.kind));
    return e.dispatch(
      k,
      {
        state_prev: prev.whole,
        state: this.state[j + 1]!.whole,
        cur: this.cur[j]!,
        gates: this.gates[j]!.whole,
        dstate: this.grad[j % 2]!.whole,
        dcur: this.dcur,
        dgates: this.dgates.whole,
        dstate_prev: this.grad[(j + 1) % 2]!.whole,
      },
      neuronParams(this.B, this.outSize, prev.cs, this.neuron, use),
      elementwiseGroups(e, this.B * this.outSize),
      `${this.name}.ltc_backward[${j}]`,
    );
  }

  abstract forward(j: number, inputs: Tensor[]): Dispatch[];
  abstract backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], above: AboveWrites): Dispatch[];

  encodeCarry(enc: GPUCommandEncoder, L: number): void {
    const from = this.state[L]!.whole;
    const to = this.state[0]!.whole;
    enc.copyBufferToBuffer(from.buffer, 0, to.buffer, 0, to.byteLength);
  }

  destroy(): void {
    for (const s of [...this.state, ...this.gates, this.dgates, ...this.grad]) s.destroy();
    for (const t of [...this.cur, this.dcur]) t.destroy();
  }
}
