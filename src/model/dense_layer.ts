/**
 * A dense spiking layer (LTC, LIF or ALIF; SPEC §1) on the GPU. Per chunk position j it owns
 *   state[j]  [u | s | b]            the state before step j (state[j+1] after it); state[0] is the
 *                                    state carried into the chunk (detached), copied from state[L]
 *   cur[j], gates[j] [τm | τa | u']  what the forward keeps for the backward
 * and, shared by all positions, dcur, dgates [dzm | dza] and two gradient slots grad[0], grad[1]
 * holding dL/d(state at step j) in grad[j % 2]. Memory grows with the chunk length, never with T.
 * A buffer may not be bound read-only and writable in one dispatch, so what a matmul reads and
 * what it writes never share a buffer: that is why I and the gates are separate buffers.
 *
 * Forward of step j:  I = x·Wxᵀ + bx (+ s_prev·Wrᵀ, in the same dispatch);  zm = [I | u_prev]·Wtmᵀ + btm;
 *                     za = [I | b_prev]·Wtaᵀ + bta;  ltc_forward (elementwise, fused)
 * Backward of step j: ltc_backward (elementwise) → dI, dzm, dza, dstate_prev; then the matmul
 *                     input and weight gradients of the three products, in the order the
 *                     dependencies need. Parameter gradients accumulate (+=).
 * With adaptation, the two gates are alike products whose operands lie at a fixed distance in
 * the same buffers (u and b in the state slot, τm and τa in the gates slot, Wtm/Wta and their
 * gradients in the arena), so each pair is one batched dispatch: zm with za, dWtm(I) with
 * dWta(I), dWtm(u) with dWta(b), du_prev with db_prev, and the two shares of dI summed in one
 * (matmulForwardPair, matmulBackwardWeightPair, matmulBackwardInputPair).
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { matmulBackwardInput, matmulBackwardInputPair, matmulBackwardWeight, matmulBackwardWeightPair, matmulForward, matmulForwardPair } from '../kernels/matmul.js';
import { elementwiseVariant, paramGradGroups } from '../kernels/dispatch1d.js';
import { NEURON_PARAM_GRAD } from '../kernels/neuron.js';
import type { LtcConfig } from './neuron_config.js';
import type { AboveWrites, GradTarget, ParamStore, StepRole } from './layer.js';
import { SpikingLayerBase } from './spiking_layer.js';

export class DenseSpikingLayer extends SpikingLayerBase {
  constructor(engine: Engine, name: string, readonly cfg: LtcConfig, slots: number, store: ParamStore) {
    super(engine, name, store, cfg, cfg.kind === 'ltc', cfg.B, cfg.H, slots);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const e = this.engine;
    const x = inputs[0]!.reshape([this.cfg.B, this.cfg.D]);
    const prev = this.state[j]!;
    const gates = this.gates[j]!;
    const I = this.cur[j]!;
    const n = this.name;
    const out: Dispatch[] = [];
    // I = x·Wxᵀ + s_prev·Wrᵀ + bx: one dispatch with split weights (Wx and Wr stay two parameters)
    if (this.cfg.recurrent) out.push(matmulForward(e, { x, x2: prev.get('s'), w: this.p('Wx'), w2: this.p('Wr'), bias: this.p('bx'), y: I, label: `${n}.I[${j}]` }));
    else out.push(matmulForward(e, { x, w: this.p('Wx'), bias: this.p('bx'), y: I, label: `${n}.I[${j}]` }));
    if (this.liquid) {
      const zm = { x: I, x2: prev.get('u'), w: this.p('Wtm'), bias: this.p('btm'), y: gates.get('tm'), label: `${n}.zm[${j}]` };
      if (this.cfg.adapt) {
        const za = { x: I, x2: prev.get('b'), w: this.p('Wta'), bias: this.p('bta'), y: gates.get('ta'), label: `${n}.za[${j}]` };
        out.push(matmulForwardPair(e, zm, za, `${n}.zm+za[${j}]`));
      } else {
        out.push(matmulForward(e, zm));
      }
    }
    out.push(this.neuronForward(j, this.liquid ? null : this.p('pm'), !this.liquid && this.cfg.adapt ? this.p('pa') : null));
    return out;
  }

  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], above: AboveWrites): Dispatch[] {
    const e = this.engine;
    const x = inputs[0]!.reshape([this.cfg.B, this.cfg.D]);
    const dx = dInputs[0] ?? null;
    const { B, H } = this.cfg;
    const n = this.name;
    const prev = this.state[j]!;
    const I = this.cur[j]!;
    const gradPrev = this.grad[(j + 1) % 2]!;
    const needPrev = j > 0;
    const out: Dispatch[] = [this.neuronBackward(j, role, above)];
    const dI = this.dcur;
    const dzm = this.dgates.get('dzm');
    const dza = this.dgates.get('dza');
    if (this.liquid) {
      const dIm = { dy: dzm, w: this.p('Wtm'), dx: dI, colOffset: 0, accumulate: true, label: `${n}.dI+=zm[${j}]` };
      const duPrev = { dy: dzm, w: this.p('Wtm'), dx: gradPrev.get('u'), colOffset: H, accumulate: true, label: `${n}.du_prev+=[${j}]` };
      if (this.cfg.adapt) {
        // dI += dzm·Wtm[:, :H] + dza·Wta[:, :H] (one output, summed); du_prev and db_prev (two outputs)
        const dIa = { dy: dza, w: this.p('Wta'), dx: dI, colOffset: 0, accumulate: true, label: `${n}.dI+=za[${j}]` };
        out.push(matmulBackwardInputPair(e, dIm, dIa, { sum: true }, `${n}.dI+=zm+za[${j}]`));
        if (needPrev) {
          const dbPrev = { dy: dza, w: this.p('Wta'), dx: gradPrev.get('b'), colOffset: H, accumulate: true, label: `${n}.db_prev+=[${j}]` };
          out.push(matmulBackwardInputPair(e, duPrev, dbPrev, { sum: false }, `${n}.du_prev+db_prev[${j}]`));
        }
      } else {
        out.push(matmulBackwardInput(e, dIm));
        if (needPrev) out.push(matmulBackwardInput(e, duPrev));
      }
      const dWtmI = { dy: dzm, x: I, dw: this.g('Wtm'), db: this.g('btm'), colOffset: 0, label: `${n}.dWtm(I)[${j}]` };
      const dWtmU = { dy: dzm, x: prev.get('u'), dw: this.g('Wtm'), colOffset: H, label: `${n}.dWtm(u)[${j}]` };
      if (this.cfg.adapt) {
        const dWtaI = { dy: dza, x: I, dw: this.g('Wta'), db: this.g('bta'), colOffset: 0, label: `${n}.dWta(I)[${j}]` };
        const dWtaB = { dy: dza, x: prev.get('b'), dw: this.g('Wta'), colOffset: H, label: `${n}.dWta(b)[${j}]` };
        out.push(matmulBackwardWeightPair(e, dWtmI, dWtaI, `${n}.dWtm+dWta(I)[${j}]`));
        out.push(matmulBackwardWeightPair(e, dWtmU, dWtaB, `${n}.dWtm(u)+dWta(b)[${j}]`));
      } else {
        out.push(matmulBackwardWeight(e, dWtmI));
        out.push(matmulBackwardWeight(e, dWtmU));
      }
    } else {
      const k2 = e.kernel(NEURON_PARAM_GRAD, elementwiseVariant(e));
      out.push(
        e.dispatch(
          k2,
          { dgates: this.dgates.whole, dpm: this.g('pm'), dpa: this.cfg.adapt ? this.g('pa') : null },
          { B, H, cs: this.dgates.cs, adapt: this.cfg.adapt ? 1 : 0 },
          paramGradGroups(e, H),
          `${n}.dpm[${j}]`,
        ),
      );
    }
    out.push(matmulBackwardWeight(e, { dy: dI, x, dw: this.g('Wx'), db: this.g('bx'), label: `${n}.dWx[${j}]` }));
    if (this.cfg.recurrent) {
      out.push(matmulBackwardWeight(e, { dy: dI, x: prev.get('s'), dw: this.g('Wr'), label: `${n}.dWr[${j}]` }));
      if (needPrev) out.push(matmulBackwardInput(e, { dy: dI, w: this.p('Wr'), dx: gradPrev.get('s'), accumulate: true, label: `${n}.ds_prev+=[${j}]` }));
    }
    if (dx) out.push(matmulBackwardInput(e, { dy: dI, w: this.p('Wx'), dx: dx.tensor.reshape([B, this.cfg.D]), accumulate: dx.accumulate(role), label: `${n}.dx[${j}]` }));
    return out;
  }
}
