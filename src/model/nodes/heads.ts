/**
 * Head nodes on the GPU: the readout (classification, cross-entropy), the linear head on a
 * membrane (regression) and the 1×1 conv head on a conv node's membranes (regression on a map).
 * Each keeps its per-position outputs, its loss dispatch per position (uniforms set before each
 * submit: the step's loss weights times the head's weight) and its own metrics accumulators.
 *
 *   readout:   z = Wo·s + bo;  τo = σ(Wto·[z | o_prev] + bto) (or σ(po));  o = τo·o_prev + (1 − τo)·z
 *   linear:    y = Wl·u + bl
 *   conv_head: y[b, o, p] = Σ_c W[o, c]·u[b, c, p] + bias[o]
 */
import type { Engine } from '../../gpu/engine.js';
import type { Dispatch } from '../../gpu/kernel.js';
import type { Tensor } from '../../gpu/tensor.js';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../../kernels/conv2d.js';
import { elementwiseGroups, elementwiseVariant, paramGradGroups } from '../../kernels/dispatch1d.js';
import { METRIC_WORDS, MSE_LOSS, XENT_LOSS } from '../../kernels/loss.js';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../../kernels/matmul.js';
import { NEURON_PARAM_GRAD } from '../../kernels/neuron.js';
import { READOUT_BACKWARD, READOUT_FORWARD } from '../../kernels/readout.js';
import type { ConvHeadConfig, LinearNodeConfig, ReadoutNodeConfig } from '../kinds/index.js';
import type { AboveWrites, GradTarget, HeadNode, LossWeights, ParamStore, StepRole } from '../layer.js';

export abstract class HeadBase {
  readonly metrics: Tensor;
  protected readonly lossCache = new Map<number, Dispatch>();

  constructor(
    protected readonly engine: Engine,
    readonly name: string,
    protected readonly store: ParamStore,
    /** The optimiser's state (word 0: updates done), for the non-finite mark; null counts from 1. */
    protected readonly updateState: Tensor | null,
    metricWords = METRIC_WORDS,
  ) {
    this.metrics = engine.tensor([metricWords], { label: `${name}.metrics` });
  }

  protected p(n: string): Tensor {
    return this.store.param(`${this.name}.${n}`);
  }

  protected g(n: string): Tensor {
    return this.store.grad(`${this.name}.${n}`);
  }

  outputGrad(): GradTarget {
    throw new Error(`${this.name} is a head: no node reads it`);
  }

  protected disposeDispatches(): void {
    for (const d of this.lossCache.values()) d.uniformBuffer && this.engine.destroyBuffer(d.uniformBuffer);
  }
}

export class ReadoutHead extends HeadBase implements HeadNode {
  readonly loss = 'xent' as const;
  readonly stateNames = ['o'] as const;
  readonly outputs: number;
  readonly C: number;
  readonly liquid: boolean;
  readonly weight: number;
  readonly o: Tensor[];
  readonly z: Tensor[];
  readonly to: Tensor[];
  readonly dz: Tensor;
  readonly dzo: Tensor;
  readonly dOut: [Tensor, Tensor];
  readonly dloss: Tensor[];
  readonly labels: Tensor;
  readonly q: Tensor | null;

  constructor(engine: Engine, name: string, readonly cfg: ReadoutNodeConfig, slots: number, store: ParamStore, opts: { oracle: boolean; updateState: Tensor | null }) {
    super(engine, name, store, opts.updateState);
    const { B, C } = cfg;
    this.C = C;
    this.outputs = C;
    this.liquid = cfg.liquid;
    this.weight = cfg.weight;
    const t = (label: string) => engine.tensor([B, C], { label: `${name}.${label}` });
    this.o = Array.from({ length: slots + 1 }, (_, j) => t(`o[${j}]`));
    this.z = Array.from({ length: slots }, (_, j) => t(`z[${j}]`));
    this.to = Array.from({ length: slots }, (_, j) => t(`to[${j}]`));
    this.dz = t('dz');
    this.dzo = t('dzo');
    this.dOut = [t('dOut[0]'), t('dOut[1]')];
    this.dloss = Array.from({ length: slots }, (_, j) => t(`dloss[${j}]`));
    this.labels = engine.tensor([B], { dtype: 'u32', label: `${name}.labels` });
    this.q = opts.oracle ? t('oracle.Q') : null;
  }

  output(j: number): Tensor {
    return this.o[j + 1]!;
  }

  stateTensor(pos: number, name: string): Tensor {
    if (name !== 'o') throw new Error(`${this.name} (readout) has no state "${name}"`);
    return this.o[pos]!;
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const e = this.engine;
    const { B, C, H } = this.cfg;
    const s = inputs[0]!.reshape([B, H]);
    const z = this.z[j]!;
    const out = [matmulForward(e, { x: s, w: this.p('Wo'), bias: this.p('bo'), y: z, label: `${this.name}.z[${j}]` })];
    if (this.liquid) out.push(matmulForward(e, { x: z, x2: this.o[j]!, w: this.p('Wto'), bias: this.p('bto'), y: this.to[j]!, label: `${this.name}.zo[${j}]` }));
    const k = e.kernel(READOUT_FORWARD, elementwiseVariant(e, { LIQUID: this.liquid ? 1 : 0 }));
    out.push(
      e.dispatch(
        k,
        { o_prev: this.o[j]!, po: this.liquid ? null : this.p('po'), z, to: this.to[j]!, o: this.o[j + 1]! },
        { B, C, has_loss: 0, use_future: 0 },
        elementwiseGroups(e, B * C),
        `${this.name}.readout_forward[${j}]`,
      ),
    );
    return out;
  }

  lossDispatches(j: number): Dispatch[] {
    return [this.lossDispatch(j)];
  }

  private lossDispatch(j: number): Dispatch {
    let d = this.lossCache.get(j);
    if (d) return d;
    const e = this.engine;
    const { B, C } = this.cfg;
    d = e.dispatch(
      e.kernel(XENT_LOSS, elementwiseVariant(e)),
      { o: this.o[j + 1]!, labels: this.labels, q: this.q, dloss: this.dloss[j]!, metrics: this.metrics, step: this.updateState },
      { B, C, has_q: this.q ? 1 : 0, count_pred: 0, w: 1, scale: 1 },
      [1, 1, 1],
      `${this.name}.xent_loss[${j}]`,
    );
    this.lossCache.set(j, d);
    return d;
  }

  setLoss(j: number, o: LossWeights): void {
    const { B, C } = this.cfg;
    this.lossDispatch(j).setParams({ B, C, has_q: this.q ? 1 : 0, count_pred: o.countPrediction ? 1 : 0, w: o.w, scale: o.scale });
  }

  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], _above: AboveWrites): Dispatch[] {
    const e = this.engine;
    const { B, C, H } = this.cfg;
    const n = this.name;
    const dz = this.dz;
    const dzo = this.dzo;
    const dPrev = this.dOut[(j + 1) % 2]!;
    const needPrev = j > 0;
    const out: Dispatch[] = [];
    out.push(
      e.dispatch(
        e.kernel(READOUT_BACKWARD, elementwiseVariant(e)),
        { o_prev: this.o[j]!, z: this.z[j]!, to: this.to[j]!, dloss: this.dloss[j]!, do_future: this.dOut[j % 2]!, dz, dzo, do_prev: dPrev },
        { B, C, has_loss: role.hasLoss ? 1 : 0, use_future: role.isEnd ? 0 : 1 },
        elementwiseGroups(e, B * C),
        `${n}.readout_backward[${j}]`,
      ),
    );
    if (this.liquid) {
      const Wto = this.p('Wto');
      const dWto = this.g('Wto');
      out.push(matmulBackwardInput(e, { dy: dzo, w: Wto, dx: dz, colOffset: 0, accumulate: true, label: `${n}.dz+=[${j}]` }));
      if (needPrev) out.push(matmulBackwardInput(e, { dy: dzo, w: Wto, dx: dPrev, colOffset: C, accumulate: true, label: `${n}.do_prev+=[${j}]` }));
      out.push(matmulBackwardWeight(e, { dy: dzo, x: this.z[j]!, dw: dWto, db: this.g('bto'), colOffset: 0, label: `${n}.dWto(z)[${j}]` }));
      out.push(matmulBackwardWeight(e, { dy: dzo, x: this.o[j]!, dw: dWto, colOffset: C, label: `${n}.dWto(o)[${j}]` }));
    } else {
      out.push(
        e.dispatch(e.kernel(NEURON_PARAM_GRAD, elementwiseVariant(e)), { dgates: dzo, dpm: this.g('po'), dpa: null }, { B, H: C, cs: 0, adapt: 0 }, paramGradGroups(e, C), `${n}.dpo[${j}]`),
      );
    }
    const s = inputs[0]!.reshape([B, H]);
    out.push(matmulBackwardWeight(e, { dy: dz, x: s, dw: this.g('Wo'), db: this.g('bo'), label: `${n}.dWo[${j}]` }));
    const ds = dInputs[0];
    if (ds) out.push(matmulBackwardInput(e, { dy: dz, w: this.p('Wo'), dx: ds.tensor.reshape([B, H]), accumulate: ds.accumulate(role), label: `${n}.ds[${j}]` }));
    return out;
  }

  encodeCarry(enc: GPUCommandEncoder, L: number): void {
    if (L === 0) return;
    enc.copyBufferToBuffer(this.o[L]!.buffer, this.o[L]!.byteOffset, this.o[0]!.buffer, this.o[0]!.byteOffset, this.o[0]!.byteLength);
  }

  destroy(): void {
    this.disposeDispatches();
    for (const t of [...this.o, ...this.z, ...this.to, this.dz, this.dzo, ...this.dOut, ...this.dloss, this.labels, this.metrics]) t.destroy();
    this.q?.destroy();
  }
}

/**
 * A regression head (linear on a membrane, or a 1×1 conv of a conv node's membranes): MSE on
 * targets. Without a loss at a step its backward writes nothing: that is adding zero, because a
 * head lacks a loss only before the chunk's end (FPTT and BPTT put every head's loss at the end),
 * where the membrane's gradient target is `+=` onto what came back from the next step.
 */
abstract class MseHead extends HeadBase implements HeadNode {
  readonly loss = 'mse' as const;
  readonly stateNames = [] as const;
  readonly pred: Tensor[];
  readonly dpred: Tensor[];
  readonly target: Tensor;

  constructor(
    engine: Engine,
    name: string,
    protected readonly B: number,
    /** Target values per sample. */
    readonly outputs: number,
    readonly weight: number,
    slots: number,
    store: ParamStore,
    updateState: Tensor | null,
  ) {
    super(engine, name, store, updateState);
    this.pred = Array.from({ length: slots }, (_, j) => engine.tensor([B, outputs], { label: `${name}.pred[${j}]` }));
    this.dpred = Array.from({ length: slots }, (_, j) => engine.tensor([B, outputs], { label: `${name}.dpred[${j}]` }));
    this.target = engine.tensor([B, outputs], { label: `${name}.target` });
  }

  /** Compatibility with the single-head API: the target values per sample. */
  get O(): number {
    return this.outputs;
  }

  output(j: number): Tensor {
    return this.pred[j]!;
  }

  stateTensor(_pos: number, name: string): Tensor {
    throw new Error(`${this.name} is a regression head and has no state "${name}"`);
  }

  lossDispatches(j: number): Dispatch[] {
    return [this.lossDispatch(j)];
  }

  private lossDispatch(j: number): Dispatch {
    let d = this.lossCache.get(j);
    if (d) return d;
    const e = this.engine;
    d = e.dispatch(
      e.kernel(MSE_LOSS, elementwiseVariant(e)),
      { pred: this.pred[j]!, target: this.target, dpred: this.dpred[j]!, metrics: this.metrics, step: this.updateState },
      { B: this.B, O: this.outputs, count_pred: 0, w: 1 },
      [1, 1, 1],
      `${this.name}.mse_loss[${j}]`,
    );
    this.lossCache.set(j, d);
    return d;
  }

  setLoss(j: number, o: LossWeights): void {
    this.lossDispatch(j).setParams({ B: this.B, O: this.outputs, count_pred: o.countPrediction ? 1 : 0, w: o.w * o.scale });
  }

  encodeCarry(): void {}

  destroy(): void {
    this.disposeDispatches();
    for (const t of [...this.pred, ...this.dpred, this.target, this.metrics]) t.destroy();
  }

  abstract forward(j: number, inputs: Tensor[]): Dispatch[];
  abstract backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[], above: AboveWrites): Dispatch[];
}

export class LinearHead extends MseHead {
  constructor(engine: Engine, name: string, readonly cfg: LinearNodeConfig, slots: number, store: ParamStore, opts: { updateState: Tensor | null }) {
    super(engine, name, cfg.B, cfg.O, cfg.weight, slots, store, opts.updateState);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    const { B, H } = this.cfg;
    return [matmulForward(this.engine, { x: inputs[0]!.reshape([B, H]), w: this.p('Wl'), bias: this.p('bl'), y: this.pred[j]!, label: `${this.name}.pred[${j}]` })];
  }

  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    if (!role.hasLoss) return [];
    const e = this.engine;
    const { B, H } = this.cfg;
    const out = [matmulBackwardWeight(e, { dy: this.dpred[j]!, x: inputs[0]!.reshape([B, H]), dw: this.g('Wl'), db: this.g('bl'), label: `${this.name}.dWl[${j}]` })];
    const du = dInputs[0];
    if (du) out.push(matmulBackwardInput(e, { dy: this.dpred[j]!, w: this.p('Wl'), dx: du.tensor.reshape([B, H]), accumulate: du.accumulate(role), label: `${this.name}.du[${j}]` }));
    return out;
  }
}

export class ConvHead extends MseHead {
  constructor(engine: Engine, name: string, readonly cfg: ConvHeadConfig, slots: number, store: ParamStore, opts: { updateState: Tensor | null }) {
    super(engine, name, cfg.B, cfg.O * cfg.H * cfg.W, cfg.weight, slots, store, opts.updateState);
  }

  private inImg(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.Cin, c.H, c.W]);
  }

  private outImg(t: Tensor): Tensor {
    const c = this.cfg;
    return t.reshape([c.B, c.O, c.H, c.W]);
  }

  forward(j: number, inputs: Tensor[]): Dispatch[] {
    return [conv2dForward(this.engine, { x: this.inImg(inputs[0]!), w: this.p('W'), bias: this.p('b'), y: this.outImg(this.pred[j]!), stride: 1, padding: 0, label: `${this.name}.pred[${j}]` })];
  }

  backward(j: number, role: StepRole, inputs: Tensor[], dInputs: (GradTarget | null)[]): Dispatch[] {
    if (!role.hasLoss) return [];
    const e = this.engine;
    const dy = this.outImg(this.dpred[j]!);
    const out = [conv2dBackwardWeight(e, { dy, x: this.inImg(inputs[0]!), dw: this.g('W'), db: this.g('b'), stride: 1, padding: 0, label: `${this.name}.dW[${j}]` })];
    const du = dInputs[0];
    if (du) out.push(conv2dBackwardInput(e, { dy, w: this.p('W'), dx: this.inImg(du.tensor), accumulate: du.accumulate(role), stride: 1, padding: 0, label: `${this.name}.du[${j}]` }));
    return out;
  }
}
