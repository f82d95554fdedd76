/**
 * A spiking network on the GPU: the graph scheduler. The network description (src/model/graph.ts)
 * gives the nodes in topological order; each becomes a GPU node (src/model/nodes/index.ts) that
 * records an explicit forward and an explicit local backward (llm.c style; no tape). The forward
 * of a step runs the nodes in order, the backward in reverse.
 *
 * The scheduler owns the wiring: what each node reads (the network input, a node's output, or a
 * spiking node's membrane for heads on u) and where each reader writes its gradient. Where one
 * output feeds several readers, the first reader to run backward (the last in topological order)
 * stores — or adds, where the target already holds what came back from step j+1 — and every later
 * reader adds; no node knows how many readers it has.
 *
 * Time is cut into chunks of at most `slots` steps (FPTT-K: a chunk; pure online FPTT: 1 step;
 * BPTT: the whole sequence). Nodes keep per-position buffers for the chunk, so memory grows with
 * the chunk length, never with T. Dispatch lists are built once per (position, role) and cached;
 * a training step only encodes them.
 *
 * Gradient conventions: parameter gradients accumulate (+=) onto what the update left in the grad
 * arena: ∇R = α(W − W̄) − λ under FPTT, 0 otherwise (src/kernels/fptt_update.ts).
 */
import type { Engine } from '../gpu/engine.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { INPUT, type NetSpec } from './spec.js';
import { netConfig, type NetConfig, type GraphNode } from './graph.js';
import { initialState, initParams } from './init.js';
import { isHeadNode, isSpikingNode, type GpuNode, type GradTarget, type HeadNode, type LossWeights, type ParamStore, type SpikingNode, type StepRole } from './layer.js';
import { buildGpuNode } from './nodes/index.js';
import type { ReadoutHead } from './nodes/heads.js';
import type { DetectHead } from './nodes/detect_head.js';
import { yoloAssignRef, type YoloAssignment, type YoloGtBox } from '../detect/assign.js';
import { Rng } from '../util/rng.js';

export type { ParamStore, StepRole, LossWeights, HeadNode, GpuNode } from './layer.js';

export interface NetworkOptions {
  /** Longest chunk the network will run (1 for pure online FPTT, T for BPTT). */
  slots?: number;
  /**
   * Classification with a supplied oracle target Q (B×C) in the loss (SPEC §4) instead of the
   * uniform 1/C; set it with `setOracle` for each batch.
   */
  oracle?: boolean;
  /**
   * The optimiser's state buffer (src/kernels/fptt_update.ts; word 0: updates done). The loss
   * kernels read it to record the update at which a loss first became non-finite.
   */
  updateState?: Tensor;
}

/** The head of a single-head network that regresses (linear or conv_head). */
export interface RegressionHead extends HeadNode {
  readonly pred: Tensor[];
  readonly target: Tensor;
  readonly O: number;
}

export class SpikingNetwork {
  readonly cfg: NetConfig;
  readonly slots: number;
  /** GPU nodes in topological order. */
  readonly nodes: GpuNode[];
  readonly byName: ReadonlyMap<string, GpuNode>;
  /** Head nodes, in the order the spec lists them; heads[0] is the primary one (accuracy, evaluation). */
  readonly heads: HeadNode[];
  /** Inputs of the chunk's steps, each (B, D). */
  readonly inputs: Tensor[];
  private cache = new Map<string, Dispatch[]>();

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
    const ctx = { engine, slots, store, oracle: opts.oracle ?? false, updateState: opts.updateState ?? null };
    this.nodes = this.cfg.nodes.map((g) => buildGpuNode(g, ctx));
    this.byName = new Map(this.nodes.map((n) => [n.name, n]));
    this.heads = this.cfg.heads.map((g) => this.byName.get(g.name) as HeadNode);
    this.inputs = Array.from({ length: slots }, (_, j) => engine.tensor([B, D], { label: `input[${j}]` }));
  }

  /** Parameter names and shapes, in the initialisation order. */
  static shapesOf(cfg: NetConfig): { name: string; shape: number[] }[] {
    return cfg.paramShapes.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  /** SPEC §1 initialisation from a seed, as host arrays. */
  static initialParams(spec: NetSpec, seed: number): Record<string, Float32Array> {
    return initParams(netConfig(spec), seed);
  }

  node(name: string): GpuNode {
    const n = this.byName.get(name);
    if (!n) throw new Error(`no node "${name}" (nodes: ${[...this.byName.keys()].join(', ')})`);
    return n;
  }

  head(name?: string): HeadNode {
    if (name === undefined) return this.heads[0]!;
    const h = this.node(name);
    if (!isHeadNode(h)) throw new Error(`node "${name}" is not a head`);
    return h;
  }

  /** The primary head when it is a readout (classification), else null. */
  get readout(): ReadoutHead | null {
    const h = this.heads[0]!;
    return h.loss === 'xent' ? (h as unknown as ReadoutHead) : null;
  }

  /** The primary head when it regresses (linear or conv_head), else null. */
  get linear(): RegressionHead | null {
    const h = this.heads[0]!;
    return h.loss === 'mse' ? (h as unknown as RegressionHead) : null;
  }

  /** The spiking nodes, in topological order. */
  get spikingNodes(): SpikingNode[] {
    return this.nodes.filter(isSpikingNode);
  }

  /** A head's output after the last evaluated step (position 0 after evaluateSequence): o, or the prediction. */
  outputTensor(head?: string): Tensor {
    const h = this.head(head);
    return h.loss === 'xent' ? (h as unknown as ReadoutHead).o[0]! : h.output(0);
  }

  // ---- host-side state ---------------------------------------------------------------------

  /** Write a state (by full name: `l0.u`, …, `readout.o`) into position 0 (the chunk's start). */
  writeState(state: Record<string, ArrayLike<number>>): void {
    for (const s of this.cfg.stateShapes) {
      const v = state[s.name];
      if (!v) throw new Error(`writeState: missing ${s.name} (${s.sym} = ${s.shape.join('×')})`);
      this.engine.upload(this.node(s.node).stateTensor(0, s.local), v);
    }
  }

  /** The initial state of a sequence (SPEC §1: u ~ U(0,1), s = 0, b = b0; zero for the Add task). */
  resetState(rng: Rng | null): void {
    this.writeState(initialState(this.cfg, rng));
  }

  /** Read the state at chunk position j (default: after the chunk's last step was copied back, position 0). */
  async readState(position = 0): Promise<Record<string, Float32Array>> {
    const shapes = this.cfg.stateShapes;
    const vals = await this.engine.readMany(shapes.map((s) => this.node(s.node).stateTensor(position, s.local)));
    return Object.fromEntries(shapes.map((s, i) => [s.name, vals[i]!]));
  }

  private headOf(kind: 'xent' | 'mse', head: string | undefined, what: string): HeadNode {
    if (head !== undefined) {
      const h = this.head(head);
      if (h.loss !== kind) throw new Error(`${what}: head "${head}" ${h.loss === 'xent' ? 'classifies; use setLabels' : 'regresses; use setTarget'}`);
      return h;
    }
    const hs = this.heads.filter((h) => h.loss === kind);
    if (hs.length === 0) throw new Error(`${what}: this network has no ${kind === 'xent' ? 'classification' : 'regression'} head; use ${kind === 'xent' ? 'setTarget' : 'setLabels'}`);
    if (hs.length > 1) throw new Error(`${what}: the network has ${hs.length} such heads (${hs.map((h) => h.name).join(', ')}); name one`);
    return hs[0]!;
  }

  setLabels(labels: ArrayLike<number>, head?: string): void {
    const h = this.headOf('xent', head, 'setLabels') as unknown as ReadoutHead;
    const C = h.C;
    if (labels.length !== this.cfg.B) throw new Error(`setLabels: ${labels.length} labels for head "${h.name}", expected one per sample (batch ${this.cfg.B})`);
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= C) throw new Error(`setLabels: label ${y} at ${i} is not a class index in 0..${C - 1} (head "${h.name}")`);
    }
    this.engine.upload(h.labels, labels);
  }

  /** The oracle target Q of the batch, (B, C) row-major; each row a distribution over classes. */
  setOracle(q: ArrayLike<number>, head?: string): void {
    const h = this.headOf('xent', head, 'setOracle') as unknown as ReadoutHead;
    if (!h.q) throw new Error('setOracle: the network was built without an oracle (NetworkOptions.oracle)');
    const { B } = this.cfg;
    if (q.length !== B * h.C) throw new Error(`setOracle: Q has ${q.length} values, expected B×C = ${B}×${h.C} = ${B * h.C}`);
    this.engine.upload(h.q, q);
  }

  setTarget(values: ArrayLike<number>, head?: string): void {
    const h = this.headOf('mse', head, 'setTarget') as RegressionHead;
    const n = this.cfg.B * h.outputs;
    if (values.length !== n) throw new Error(`setTarget: ${values.length} target values for head "${h.name}", expected B×${h.outputs} = ${n}`);
    this.engine.upload(h.target, values);
  }

  /** The detect heads in spec order: head k is scale k of the anchor assignment. */
  get detectHeads(): DetectHead[] {
    return this.heads.filter((h) => h.loss === 'yolo') as unknown as DetectHead[];
  }

  /**
   * The ground-truth boxes of the batch (gts[b]: the boxes of sample b, pixels of the input image):
   * one anchor assignment over every detect head (src/detect/assign.ts), each head given its
   * scale's targets (queued writes). Returns the assignment (its `dropped` lists boxes that lost
   * their cell to a larger box).
   */
  setBoxes(gts: ReadonlyArray<ReadonlyArray<YoloGtBox>>): YoloAssignment {
    const heads = this.detectHeads;
    if (heads.length === 0) throw new Error('setBoxes: this network has no detect head');
    if (gts.length !== this.cfg.B) throw new Error(`setBoxes: boxes for ${gts.length} samples, expected one list per sample (batch ${this.cfg.B})`);
    const C = heads[0]!.cfg.classes;
    const other = heads.find((h) => h.cfg.classes !== C);
    if (other) throw new Error(`setBoxes: detect heads "${heads[0]!.name}" (${C} classes) and "${other.name}" (${other.cfg.classes}) disagree on the classes`);
    const asg = yoloAssignRef(gts, heads.map((h) => h.scale), C);
    heads.forEach((h, k) => {
      h.setAssignment({
        batch: asg.batch,
        numClasses: C,
        scales: [asg.scales[k]!],
        targets: asg.targets.filter((t) => t.scale === k).map((t) => ({ ...t, scale: 0 })),
      });
    });
    return asg;
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

  /** What node g reads at step j, per `from` slot. */
  private inputsOf(g: GraphNode, j: number): Tensor[] {
    return g.from.map((f) => {
      if (f === INPUT) return this.inputs[j]!;
      const src = this.node(f);
      if (g.def.reads === 'membrane') return (src as SpikingNode).membrane(j);
      return src.output(j);
    });
  }

  /**
   * Where node g writes dL/d(input) at step j, per slot: the source's gradient target, with the
   * scheduler's rule — the first reader to run backward (the last in the readers list) keeps the
   * target's own rule, every later one adds.
   */
  private gradTargetsOf(g: GraphNode, j: number): (GradTarget | null)[] {
    return g.from.map((f, slot) => {
      if (f === INPUT) return null;
      const src = this.node(f);
      const membrane = g.def.reads === 'membrane';
      const base = membrane ? (src as SpikingNode).membraneGrad(j) : src.outputGrad(j);
      const readers = (membrane ? this.cfg.membraneReaders : this.cfg.outputReaders).get(f)!;
      const last = readers[readers.length - 1]!;
      const first = last.node === g.name && last.slot === slot;
      return first ? base : { tensor: base.tensor, accumulate: () => true };
    });
  }

  /** Forward of step j: every node in topological order (heads included, losses not). */
  forward(j: number): Dispatch[] {
    return this.cached(`fwd:${j}`, () => this.cfg.nodes.flatMap((g) => this.node(g.name).forward(j, this.inputsOf(g, j))));
  }

  /** The loss dispatches of step j for the heads that have a loss there (uniforms set by setLoss). */
  losses(j: number, heads: readonly string[]): Dispatch[] {
    return heads.flatMap((h) => this.head(h).lossDispatches(j));
  }

  /** Set head `head`'s loss weights at position j (the head's weight is applied by the caller). */
  setLoss(j: number, head: string, o: LossWeights): void {
    this.head(head).setLoss(j, o);
  }

  /**
   * Backward of step j, nodes in reverse topological order. `lossHeads` are the heads with a loss
   * term at this step.
   */
  backward(j: number, role: { isEnd: boolean; lossHeads: readonly string[] }): Dispatch[] {
    const mask = this.heads.map((h) => (role.lossHeads.includes(h.name) ? 1 : 0)).join('');
    return this.cached(`bwd:${j}:${role.isEnd ? 1 : 0}:${mask}`, () => {
      const out: Dispatch[] = [];
      const layerRole: StepRole = { isEnd: role.isEnd, hasLoss: role.lossHeads.length > 0 };
      for (let i = this.cfg.nodes.length - 1; i >= 0; i--) {
        const g = this.cfg.nodes[i]!;
        const node = this.node(g.name);
        const r: StepRole = g.head ? { isEnd: role.isEnd, hasLoss: role.lossHeads.includes(g.name) } : layerRole;
        const above = { ds: this.cfg.outputReaders.get(g.name)!.length > 0, du: (this.cfg.membraneReaders.get(g.name)?.length ?? 0) > 0 };
        out.push(...node.backward(j, r, this.inputsOf(g, j), this.gradTargetsOf(g, j), above));
      }
      return out;
    });
  }

  /**
   * One inference (or evaluation) step at position 0, recorded into `enc`: the forward pass of
   * every node (and, with `lossHeads`, those heads' losses), then the carry of the state into
   * position 0 for the next step. The trainer's evaluation, the online learner and the activity
   * plot all step this way.
   */
  encodeInferenceStep(enc: GPUCommandEncoder, label: string, lossHeads: readonly string[] = []): void {
    const pass = enc.beginComputePass({ label });
    for (const d of this.forward(0)) d.encode(pass);
    for (const d of this.losses(0, lossHeads)) d.encode(pass);
    pass.end();
    this.encodeCarry(enc, 1);
  }

  /**
   * Copy the state after the chunk's last step (position L) into position 0, so the next chunk
   * starts from it. Recorded into `enc` outside any compute pass.
   */
  encodeCarry(enc: GPUCommandEncoder, L: number): void {
    if (L === 0) return;
    for (const n of this.nodes) n.encodeCarry(enc, L);
  }

  /** Reset every head's metrics accumulators (queued). */
  resetMetrics(): void {
    for (const h of this.heads) this.engine.upload(h.metrics, new Float32Array(h.metrics.size));
  }

  destroy(): void {
    for (const d of this.cache.values()) for (const x of d) x.uniformBuffer && this.engine.destroyBuffer(x.uniformBuffer);
    for (const n of this.nodes) n.destroy();
    for (const t of this.inputs) t.destroy();
  }
}
