/**
 * A spiking network on the GPU: a stack of layers (src/model/layer.ts: dense LTC / LIF / ALIF,
 * convolutional LTC, pooling), then a liquid or non-liquid readout (classification) or a linear
 * head on the last layer's membrane (regression, the Add task). Every layer has an explicit
 * forward and an explicit local backward (llm.c style); no tape.
 *
 * Time is cut into chunks of at most `slots` steps (FPTT-K: a chunk; pure online FPTT: 1 step;
 * BPTT: the whole sequence). Layers and the head keep per-position buffers for the chunk, so
 * memory grows with the chunk length, never with T. Dispatch lists are built once per
 * (position, role) and cached; a training step only encodes them.
 *
 * Gradient conventions: parameter gradients accumulate (+=) and are zeroed by the update;
 * activation gradients are written (=) at the chunk's last step and accumulated (+=) before it,
 * where they also hold what came back from the step after.
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from '../kernels/matmul.js';
import { elementwiseGroups, elementwiseVariant, paramGradGroups } from '../kernels/dispatch1d.js';
import { MSE_LOSS, XENT_LOSS } from '../kernels/loss.js';
import { NEURON_PARAM_GRAD } from '../kernels/neuron.js';
import { READOUT_BACKWARD, READOUT_FORWARD } from '../kernels/readout.js';
import { initNetRef, initialStateRef, netConfig, netParamShapes, type NetConfig, type NetSpec } from '../ref/network.js';
import { Rng } from '../util/rng.js';
import { ConvSpikingLayer, PoolLayer } from './conv_layer.js';
import { DenseSpikingLayer } from './dense_layer.js';
import { isSpiking, type AboveWrites, type NetLayer, type ParamStore, type SpikingLayer, type StepRole } from './layer.js';

export type { ParamStore, StepRole } from './layer.js';

export interface NetworkOptions {
  /** Longest chunk the network will run (1 for pure online FPTT, T for BPTT). */
  slots?: number;
  /** Seed of the parameter initialisation (SPEC §1). */
  seed?: number;
  /**
   * Classification with a supplied oracle target Q (B×C) in the loss (SPEC §4) instead of the
   * uniform 1/C; set it with `setOracle` for each batch.
   */
  oracle?: boolean;
  /**
   * The optimiser's state buffer (src/kernels/fptt_update.ts; word 0: updates done). The loss
   * kernels read it to record the update at which a loss first became non-finite (metrics [5..7]);
   * without it that index counts from 1 in each metrics window.
   */
  updateState?: Tensor;
}

export class SpikingNetwork {
  readonly cfg: NetConfig;
  readonly slots: number;
  readonly layers: NetLayer[];
  /** Inputs of the chunk's steps, each (B, D). */
  readonly inputs: Tensor[];
  /** Readout head (classification). */
  readonly readout: {
    C: number;
    liquid: boolean;
    o: Tensor[];
    z: Tensor[];
    to: Tensor[];
    dz: Tensor;
    dzo: Tensor;
    dOut: [Tensor, Tensor];
    dloss: Tensor[];
    labels: Tensor;
    q: Tensor | null;
  } | null;
  /** Linear head on u (regression). */
  readonly linear: { O: number; pred: Tensor[]; dpred: Tensor[]; target: Tensor } | null;
  /** Loss and accuracy accumulators (see shaders/loss.wgsl). */
  readonly metrics: Tensor;
  private cache = new Map<string, Dispatch[]>();
  private lossCache = new Map<number, Dispatch>();
  private readonly updateState: Tensor | null;

  constructor(
    readonly engine: Engine,
    readonly spec: NetSpec,
    readonly store: ParamStore,
    opts: NetworkOptions = {},
  ) {
    this.cfg = netConfig(spec);
    const slots = opts.slots ?? 1;
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`SpikingNetwork: slots must be a positive integer, got ${slots}`);
    this.slots = slots;
    const { B, D } = this.cfg;
    this.layers = this.cfg.layers.map((l, i): NetLayer => {
      if (l.type === 'conv') return new ConvSpikingLayer(engine, i, l, slots, store);
      if (l.type === 'pool') return new PoolLayer(engine, i, l, slots);
      return new DenseSpikingLayer(engine, i, l, slots, store);
    });
    this.inputs = Array.from({ length: slots }, (_, j) => engine.tensor([B, D], { label: `input[${j}]` }));
    const head = this.cfg.head;
    if (head.kind === 'readout') {
      const C = head.cfg.C;
      this.readout = {
        C,
        liquid: head.cfg.liquid,
        o: Array.from({ length: slots + 1 }, (_, j) => engine.tensor([B, C], { label: `readout.o[${j}]` })),
        z: Array.from({ length: slots }, (_, j) => engine.tensor([B, C], { label: `readout.z[${j}]` })),
        to: Array.from({ length: slots }, (_, j) => engine.tensor([B, C], { label: `readout.to[${j}]` })),
        dz: engine.tensor([B, C], { label: 'readout.dz' }),
        dzo: engine.tensor([B, C], { label: 'readout.dzo' }),
        dOut: [engine.tensor([B, C], { label: 'readout.dOut[0]' }), engine.tensor([B, C], { label: 'readout.dOut[1]' })],
        dloss: Array.from({ length: slots }, (_, j) => engine.tensor([B, C], { label: `readout.dloss[${j}]` })),
        labels: engine.tensor([B], { dtype: 'u32', label: 'labels' }),
        q: opts.oracle ? engine.tensor([B, C], { label: 'oracle.Q' }) : null,
      };
      this.linear = null;
    } else {
      const O = head.cfg.O;
      this.readout = null;
      this.linear = {
        O,
        pred: Array.from({ length: slots }, (_, j) => engine.tensor([B, O], { label: `head.pred[${j}]` })),
        dpred: Array.from({ length: slots }, (_, j) => engine.tensor([B, O], { label: `head.dpred[${j}]` })),
        target: engine.tensor([B, O], { label: 'head.target' }),
      };
    }
    this.metrics = engine.tensor([8], { label: 'metrics' });
    this.updateState = opts.updateState ?? null;
  }

  /** Parameter names and shapes (SPEC §7 names), in the CPU reference's order. */
  static shapesOf(cfg: NetConfig): { name: string; shape: number[] }[] {
    return netParamShapes(cfg).map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  /** SPEC §1 initialisation from a seed, as host arrays. */
  static initialParams(spec: NetSpec, seed: number): Record<string, Float32Array> {
    return initNetRef(netConfig(spec), seed).params;
  }

  get top(): NetLayer {
    return this.layers[this.layers.length - 1]!;
  }

  /** The last layer as a spiking layer with a membrane (the heads read it). */
  private get topSpiking(): SpikingLayer {
    const t = this.top;
    if (!isSpiking(t)) throw new Error('the last layer must be a spiking layer (the head reads its spikes or membrane)');
    return t;
  }

  /**
   * The head's output after the last evaluated step (readout o, or the regression prediction),
   * (B, C) or (B, O). After `evaluateSequence` it holds the last step's output.
   */
  outputTensor(): Tensor {
    return this.readout ? this.readout.o[0]! : this.linear!.pred[0]!;
  }

  // ---- host-side state ---------------------------------------------------------------------

  /** Write a state (SPEC §7 names: l{i}.u, l{i}.s, l{i}.b, o) into position 0 (the chunk's start). */
  writeState(state: Record<string, ArrayLike<number>>): void {
    const e = this.engine;
    this.layers.forEach((l, i) => {
      for (const c of l.stateNames) {
        const v = state[`l${i}.${c}`];
        if (!v) throw new Error(`writeState: missing l${i}.${c}`);
        e.upload(l.stateTensor(0, c), v);
      }
    });
    if (this.readout) {
      const o = state['o'];
      if (!o) throw new Error('writeState: missing o');
      e.upload(this.readout.o[0]!, o);
    }
  }

  /** The initial state of a sequence (SPEC §1: u ~ U(0,1), s = 0, b = b0; zero for the Add task). */
  resetState(rng: Rng | null): void {
    this.writeState(initialStateRef(this.cfg, rng));
  }

  /** Read the state at chunk position j (default: after the chunk's last step was copied back, position 0). */
  async readState(position = 0): Promise<Record<string, Float32Array>> {
    const names: string[] = [];
    const ts: Tensor[] = [];
    this.layers.forEach((l, i) => {
      for (const c of l.stateNames) {
        names.push(`l${i}.${c}`);
        ts.push(l.stateTensor(position, c));
      }
    });
    if (this.readout) {
      names.push('o');
      ts.push(this.readout.o[position]!);
    }
    const vals = await this.engine.readMany(ts);
    return Object.fromEntries(names.map((n, i) => [n, vals[i]!]));
  }

  setLabels(labels: ArrayLike<number>): void {
    if (!this.readout) throw new Error('setLabels: this network has a regression head; use setTarget');
    const C = this.readout.C;
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`setLabels: label ${y} at ${i} is not a class index in 0..${C - 1}`);
    }
    this.engine.upload(this.readout.labels, labels);
  }

  /** The oracle target Q of the batch, (B, C) row-major; each row a distribution over classes. */
  setOracle(q: ArrayLike<number>): void {
    if (!this.readout?.q) throw new Error('setOracle: the network was built without an oracle (NetworkOptions.oracle)');
    const { B } = this.cfg;
    const C = this.readout.C;
    if (q.length !== B * C) throw new Error(`setOracle: Q has ${q.length} values, expected B×C = ${B}×${C} = ${B * C}`);
    this.engine.upload(this.readout.q, q);
  }

  setTarget(values: ArrayLike<number>): void {
    if (!this.linear) throw new Error('setTarget: this network has a readout head; use setLabels');
    this.engine.upload(this.linear.target, values);
  }

  setInput(position: number, x: ArrayLike<number>): void {
    const t = this.inputs[position];
    if (!t) throw new Error(`setInput: position ${position} is outside the ${this.slots} slots`);
    this.engine.upload(t, x);
  }

  // ---- dispatch lists ---------------------------------------------------------------------------

  private cached(key: string, build: () => Dispatch[]): Dispatch[] {
    let d = this.cache.get(key);
    if (!d) {
      d = build();
      this.cache.set(key, d);
    }
    return d;
  }

  private layerInput(i: number, j: number): Tensor {
    return i === 0 ? this.inputs[j]! : this.layers[i - 1]!.output(j);
  }

  /** Forward of step j: every layer, then the head (without the loss). */
  forward(j: number): Dispatch[] {
    return this.cached(`fwd:${j}`, () => {
      const out: Dispatch[] = [];
      for (const l of this.layers) out.push(...l.forward(j, this.layerInput(l.index, j)));
      out.push(...this.headForward(j));
      return out;
    });
  }

  private headForward(j: number): Dispatch[] {
    const e = this.engine;
    const top = this.topSpiking;
    if (this.readout) {
      const r = this.readout;
      const z = r.z[j]!;
      const out = [matmulForward(e, { x: top.output(j), w: this.store.param('Wo'), bias: this.store.param('bo'), y: z, label: `readout.z[${j}]` })];
      if (r.liquid) out.push(matmulForward(e, { x: z, x2: r.o[j]!, w: this.store.param('Wto'), bias: this.store.param('bto'), y: r.to[j]!, label: `readout.zo[${j}]` }));
      const k = e.kernel(READOUT_FORWARD, elementwiseVariant(e, { LIQUID: r.liquid ? 1 : 0 }));
      out.push(
        e.dispatch(
          k,
          { o_prev: r.o[j]!, po: r.liquid ? null : this.store.param('po'), z, to: r.to[j]!, o: r.o[j + 1]! },
          { B: this.cfg.B, C: r.C, has_loss: 0, use_future: 0 },
          elementwiseGroups(e, this.cfg.B * r.C),
          `readout_forward[${j}]`,
        ),
      );
      return out;
    }
    const h = this.linear!;
    return [matmulForward(e, { x: top.stateTensor(j + 1, 'u'), w: this.store.param('Wl'), bias: this.store.param('bl'), y: h.pred[j]!, label: `head.pred[${j}]` })];
  }

  /**
   * The loss of step j (writes dloss[j] / dpred[j] and adds to the metrics). Its uniforms change
   * with the global step, so the caller sets them with `setLoss` before each submit.
   */
  loss(j: number): Dispatch {
    let d = this.lossCache.get(j);
    if (d) return d;
    const e = this.engine;
    const B = this.cfg.B;
    if (this.readout) {
      const r = this.readout;
      const k = e.kernel(XENT_LOSS, elementwiseVariant(e));
      d = e.dispatch(
        k,
        { o: r.o[j + 1]!, labels: r.labels, q: r.q, dloss: r.dloss[j]!, metrics: this.metrics, step: this.updateState },
        { B, C: r.C, has_q: r.q ? 1 : 0, count_pred: 0, w: 1, scale: 1 },
        [1, 1, 1],
        `xent_loss[${j}]`,
      );
    } else {
      const h = this.linear!;
      const k = e.kernel(MSE_LOSS, elementwiseVariant(e));
      d = e.dispatch(k, { pred: h.pred[j]!, target: h.target, dpred: h.dpred[j]!, metrics: this.metrics, step: this.updateState }, { B, O: h.O, count_pred: 0, w: 1 }, [1, 1, 1], `mse_loss[${j}]`);
    }
    this.lossCache.set(j, d);
    return d;
  }

  /**
   * Set the loss weights of position j: classification ℓ_t with mix weight w = (t+1)/T, times
   * `scale`; regression `weight`·MSE. `countPrediction` counts accuracy / error at this step.
   */
  setLoss(j: number, o: { w: number; scale: number; countPrediction: boolean }): void {
    const d = this.loss(j);
    if (this.readout) {
      d.setParams({ B: this.cfg.B, C: this.readout.C, has_q: this.readout.q ? 1 : 0, count_pred: o.countPrediction ? 1 : 0, w: o.w, scale: o.scale });
    } else {
      d.setParams({ B: this.cfg.B, O: this.linear!.O, count_pred: o.countPrediction ? 1 : 0, w: o.w * o.scale });
    }
  }

  /** Backward of step j, top to bottom. */
  backward(j: number, role: StepRole): Dispatch[] {
    return this.cached(`bwd:${j}:${role.isEnd ? 1 : 0}:${role.hasLoss ? 1 : 0}`, () => {
      const out: Dispatch[] = [];
      out.push(...this.headBackward(j, role));
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const l = this.layers[i]!;
        const isTop = i === this.layers.length - 1;
        const above: AboveWrites = isTop ? { ds: this.readout !== null, du: this.linear !== null } : { ds: true, du: false };
        const dx = i > 0 ? this.layers[i - 1]!.outputGrad(j) : null;
        out.push(...l.backward(j, role, this.layerInput(i, j), dx, above));
      }
      return out;
    });
  }

  private headBackward(j: number, role: StepRole): Dispatch[] {
    const e = this.engine;
    const top = this.topSpiking;
    const needPrev = j > 0;
    if (this.readout) {
      const r = this.readout;
      const dz = r.dz;
      const dzo = r.dzo;
      const dPrev = r.dOut[(j + 1) % 2]!;
      const out: Dispatch[] = [];
      const k = e.kernel(READOUT_BACKWARD, elementwiseVariant(e));
      out.push(
        e.dispatch(
          k,
          { o_prev: r.o[j]!, z: r.z[j]!, to: r.to[j]!, dloss: r.dloss[j]!, do_future: r.dOut[j % 2]!, dz, dzo, do_prev: dPrev },
          { B: this.cfg.B, C: r.C, has_loss: role.hasLoss ? 1 : 0, use_future: role.isEnd ? 0 : 1 },
          elementwiseGroups(e, this.cfg.B * r.C),
          `readout_backward[${j}]`,
        ),
      );
      if (r.liquid) {
        const Wto = this.store.param('Wto');
        const dWto = this.store.grad('Wto');
        out.push(matmulBackwardInput(e, { dy: dzo, w: Wto, dx: dz, colOffset: 0, accumulate: true, label: `readout.dz+=[${j}]` }));
        if (needPrev) out.push(matmulBackwardInput(e, { dy: dzo, w: Wto, dx: dPrev, colOffset: r.C, accumulate: true, label: `readout.do_prev+=[${j}]` }));
        out.push(matmulBackwardWeight(e, { dy: dzo, x: r.z[j]!, dw: dWto, db: this.store.grad('bto'), colOffset: 0, label: `readout.dWto(z)[${j}]` }));
        out.push(matmulBackwardWeight(e, { dy: dzo, x: r.o[j]!, dw: dWto, colOffset: r.C, label: `readout.dWto(o)[${j}]` }));
      } else {
        const k2 = e.kernel(NEURON_PARAM_GRAD, elementwiseVariant(e));
        out.push(
          e.dispatch(k2, { dgates: dzo, dpm: this.store.grad('po'), dpa: null }, { B: this.cfg.B, H: r.C, cs: 0, adapt: 0 }, paramGradGroups(e, r.C), `readout.dpo[${j}]`),
        );
      }
      out.push(matmulBackwardWeight(e, { dy: dz, x: top.output(j), dw: this.store.grad('Wo'), db: this.store.grad('bo'), label: `readout.dWo[${j}]` }));
      const ds = top.outputGrad(j);
      out.push(matmulBackwardInput(e, { dy: dz, w: this.store.param('Wo'), dx: ds.tensor, accumulate: ds.accumulate(role), label: `readout.ds_top[${j}]` }));
      return out;
    }
    if (!role.hasLoss) return [];
    const h = this.linear!;
    const du = top.membraneGrad(j);
    return [
      matmulBackwardWeight(e, { dy: h.dpred[j]!, x: top.stateTensor(j + 1, 'u'), dw: this.store.grad('Wl'), db: this.store.grad('bl'), label: `head.dWl[${j}]` }),
      matmulBackwardInput(e, { dy: h.dpred[j]!, w: this.store.param('Wl'), dx: du.tensor, accumulate: du.accumulate(role), label: `head.du_top[${j}]` }),
    ];
  }

  /**
   * Copy the state after the chunk's last step (position L) into position 0, so the next chunk
   * starts from it. Recorded into `enc` outside any compute pass.
   */
  encodeCarry(enc: GPUCommandEncoder, L: number): void {
    if (L === 0) return;
    for (const l of this.layers) l.encodeCarry(enc, L);
    if (this.readout) {
      const r = this.readout;
      enc.copyBufferToBuffer(r.o[L]!.buffer, 0, r.o[0]!.buffer, 0, r.o[0]!.byteLength);
    }
  }

  /** Reset the metrics accumulators (queued). */
  resetMetrics(): void {
    this.engine.upload(this.metrics, new Float32Array(8));
  }

  async readMetrics(): Promise<Float32Array> {
    return this.engine.read(this.metrics);
  }

  destroy(): void {
    for (const l of this.layers) l.destroy();
    for (const t of this.inputs) t.destroy();
    for (const d of this.cache.values()) for (const x of d) x.uniformBuffer && this.engine.destroyBuffer(x.uniformBuffer);
    for (const d of this.lossCache.values()) d.uniformBuffer && this.engine.destroyBuffer(d.uniformBuffer);
    const r = this.readout;
    if (r) {
      for (const t of [...r.o, ...r.z, ...r.to, r.dz, r.dzo, ...r.dOut, ...r.dloss, r.labels]) t.destroy();
      r.q?.destroy();
    }
    const h = this.linear;
    if (h) for (const t of [...h.pred, ...h.dpred, h.target]) t.destroy();
    this.metrics.destroy();
  }
}
