/**
 * Trainers: FPTT-K (SPEC §4; K = T is the pure online case, one update per step) and BPTT (the
 * baseline: one update per sequence, gradients through all T steps).
 *
 * A chunk of L steps is recorded into ONE command encoder: the L forward steps (each with its
 * loss where it has one), the L backward steps in reverse order, the fused optimiser update, then
 * the copy that carries the last state into the next chunk. Inputs are streamed: the chunk's L
 * inputs are written just before its submit, so device memory holds L steps of input, never T.
 * Nothing is read back inside a chunk; metrics accumulate on the GPU and are read every N steps.
 * For checks, `captureGradients` also records a copy of the gradients before the update into the
 * same encoder (read with `readGradients()`).
 *
 * Chunk p covers steps [⌊pT/K⌋, ⌊(p+1)T/K⌋). Every head has its own loss, times its weight.
 * FPTT: at the chunk's last step t, classification ℓ_t (mix weight (t+1)/T), regression
 * ((p+1)/K)·MSE. BPTT: classification (1/T)Σ_t ℓ_t, regression MSE at the last step (the same
 * choices as the CPU reference, src/ref/graph.ts).
 */
import type { Engine } from '../gpu/engine.js';
import { ParamArena } from '../kernels/arena.js';
import type { Dispatch } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import {
  DEFAULT_UPDATE_CHUNK_LANES,
  STATE_GRAD_NORM,
  STATE_GRAD_NORM_COUNT,
  STATE_GRAD_NORM_SUM,
  STATE_NONFINITE_STEP,
  STATE_STEP,
  createFpttUpdate,
  type FpttUpdate,
  type OptimizerOptions,
} from '../kernels/fptt_update.js';
import { SpikingNetwork, type ParamStore } from '../model/network.js';
import { netConfig } from '../model/graph.js';
import type { NetSpec } from '../model/spec.js';
import { METRIC } from '../kernels/loss.js';
import { DEFAULT_FPTT, DEFAULT_OPTIMIZER, type FpttConfig } from '../model/optim_config.js';
import { Rng } from '../util/rng.js';
import { checkMemory, estimateTrainerMemory, evaluationBlockSteps, type MemoryEstimate } from './memory_estimate.js';
import { chunkBounds } from './chunks.js';
import type { YoloGtBox } from '../detect/assign.js';
import { DETECT_METRIC } from '../kernels/yolo_loss.js';

export { chunkBounds };

export type Method = 'fptt' | 'bptt';

export interface TrainerOptions {
  method: Method;
  /** Sequence length T. */
  steps: number;
  /** FPTT chunks per sequence (default T: one update per step). */
  K?: number;
  fptt?: Partial<FpttConfig>;
  optimizer?: Partial<OptimizerOptions>;
  /** Parameter initialisation seed (SPEC §1), ignored when `params` is given. */
  seed?: number;
  /** Initial parameters by SPEC §7 name. */
  params?: Record<string, ArrayLike<number>>;
  /** The loss uses a supplied oracle target Q per batch (SequenceBatchSource.oracle), not 1/C. */
  oracle?: boolean;
  /**
   * Opt-in, for tests and checks: keep copies of the grad arena before and after the chunk's
   * backward kernels (the FPTT arena starts at ∇R, which they add ∇ℓ to), so that
   * `readGradients()` gives ∇ℓ of the last update's chunk, before the clipping and the optimiser
   * step. The copies are recorded into the chunk's own command encoder (copyBufferToBuffer into
   * two snapshot buffers of the arena's size), so nothing is read back inside a step; the chunk
   * is split into compute passes around them (a copy cannot sit inside a pass). Default false.
   */
  captureGradients?: boolean;
  /**
   * Device bytes this trainer may allocate (see src/train/memory_estimate.ts). The estimate is
   * checked before anything is allocated, against this budget and always against the adapter's
   * maxBufferSize / maxStorageBufferBindingSize; over it the constructor throws a MemoryLimitError.
   */
  memoryBudget?: number;
  /** Host bytes the trainer's typed arrays may use (same check; none by default). */
  hostMemoryBudget?: number;
}

/** One batch of sequences, streamed step by step. */
export interface SequenceBatchSource {
  /** Write the input of step t, (B, D) row-major, into out. */
  fillStep(t: number, out: Float32Array): void;
  /** Class labels (B), for a readout head. */
  labels?: ArrayLike<number>;
  /** Oracle target Q (B×C), when the trainer was built with `oracle: true`. */
  oracle?: ArrayLike<number>;
  /** Regression targets (B × outputs), for a regression head. */
  targets?: ArrayLike<number>;
  /**
   * Per head, by head name, for networks with several heads: `labels` (and `oracle`) for a
   * classification head, `targets` for a regression head. A head not named here takes the
   * top-level `labels` / `oracle` / `targets` when it is the only head of its kind.
   */
  heads?: Record<string, { labels?: ArrayLike<number>; oracle?: ArrayLike<number>; targets?: ArrayLike<number> }>;
  /**
   * Ground-truth boxes per sample (pixels of the input image, class index), for a network with
   * detect heads: one anchor assignment per batch over all of them (SpikingNetwork.setBoxes).
   */
  boxes?: ReadonlyArray<ReadonlyArray<YoloGtBox>>;
}

/** One head's share of the metrics. */
export interface HeadMetrics {
  /** Mean of this head's loss terms (each times the head's weight). */
  loss: number;
  accuracy: number;
  mse: number;
  lossCount: number;
  /** Detect heads: the mean objectness, box and class parts of the loss. */
  parts?: { obj: number; box: number; cls: number };
}

export interface TrainMetrics {
  /** Mean of the losses taken since the last read (each the batch mean of one loss term), summed over the heads. */
  loss: number;
  /** Accuracy of the last-step predictions counted since the last read (the first classification head), else NaN. */
  accuracy: number;
  /** Mean squared error of the counted predictions (the first regression head), else NaN. */
  mse: number;
  /** Each head's metrics, by head name. */
  heads: Record<string, HeadMetrics>;
  /** Mean ‖g‖ before clipping over the updates since the last read. */
  gradNorm: number;
  /** Number of loss evaluations and of updates in the window. */
  lossCount: number;
  updates: number;
  /**
   * The first non-finite (NaN / ±Inf) quantity, flagged on the GPU where it is accumulated (the
   * loss in shaders/loss.wgsl, ‖g‖ in fptt_update_norm_finish), with the update (1-based count of
   * optimiser updates, checkpoints' optimizerStep + 1 at the time) at which it appeared; null when
   * everything was finite. The ‖g‖ mark is sticky until `update.clearNonFinite()`; the loss mark
   * covers the window since the last read. When both are set, the earlier update is reported.
   */
  nonFinite: NonFiniteMark | null;
}

export interface NonFiniteMark {
  quantity: 'loss' | 'gradNorm';
  /** The update (1-based) whose loss or ‖g‖ was not finite. */
  update: number;
  /** The value (the batch loss; ‖g‖ when it was the last update, else NaN: it is not kept). */
  value: number;
}

export class Trainer {
  readonly arena: ParamArena;
  readonly net: SpikingNetwork;
  readonly update: FpttUpdate;
  readonly T: number;
  readonly K: number;
  readonly method: Method;
  readonly chunks: [number, number][];
  readonly fptt: FpttConfig;
  readonly optimizer: OptimizerOptions;
  /** The device / host bytes estimated (and checked) before anything was allocated. */
  readonly memoryEstimate: MemoryEstimate;
  private inputBuf: Float32Array;
  /** Steps per evaluation submit, their inputs staged on the host and on the device. */
  private readonly evalBlockSteps: number;
  private readonly evalHost: Float32Array;
  private readonly evalInputs: Tensor;
  /**
   * TrainerOptions.captureGradients, else null: the grad arena as the last chunk's backward found
   * it (`seed`: ∇R or 0) and as it left it for the update (`after`).
   */
  private gradSnapshots: { seed: Tensor; after: Tensor } | null = null;
  /** FPTT: grad ← 0, then grad += ∇R (made once); [] in plain mode. */
  private readonly reseed: Dispatch[];
  /**
   * arena.version when the grad arena last held ∇R of the arena's W, W̄, λ (FPTT; see
   * src/kernels/fptt_update.ts): the update keeps that true itself, so only writes from outside
   * (checkpoint restore, W ← W̄, evaluation on W̄) make the next chunk re-seed it.
   */
  private gradSeedVersion: number;
  /** Sequences trained so far. */
  sequences = 0;

  constructor(
    readonly engine: Engine,
    readonly spec: NetSpec,
    opts: TrainerOptions,
  ) {
    const cfg = netConfig(spec);
    const T = opts.steps;
    if (!Number.isInteger(T) || T < 1) throw new Error(`Trainer: steps (T) must be a positive integer, got ${T}`);
    if (opts.method !== 'fptt' && opts.method !== 'bptt') throw new Error(`Trainer: method must be 'fptt' or 'bptt', got ${JSON.stringify(opts.method)}`);
    const K = opts.method === 'bptt' ? 1 : (opts.K ?? T);
    if (!Number.isInteger(K) || K < 1 || K > T) throw new Error(`Trainer: K must be an integer in 1..T (T = ${T}), got ${K}`);
    this.T = T;
    this.K = K;
    this.method = opts.method;
    this.chunks = chunkBounds(T, K);
    const maxChunk = Math.max(...this.chunks.map(([a, b]) => b - a));
    this.fptt = { ...DEFAULT_FPTT, ...(opts.fptt ?? {}) };
    this.optimizer = { ...DEFAULT_OPTIMIZER, ...(opts.optimizer ?? {}) };
    // size before allocation: refuse what cannot fit before the host draws a single weight
    const estOpts = { method: opts.method, steps: T, K, oracle: opts.oracle ?? false, captureGradients: opts.captureGradients ?? false };
    this.memoryEstimate = estimateTrainerMemory(spec, estOpts, {
      minStorageBufferOffsetAlignment: engine.limits.minStorageBufferOffsetAlignment,
      workgroupSize: engine.tuning.updateWorkgroup ?? engine.tuning.elementwiseWorkgroup,
      updateChunkLanes: engine.tuning.updateChunkLanes ?? DEFAULT_UPDATE_CHUNK_LANES,
      elementwiseWorkgroupSize: engine.tuning.elementwiseWorkgroup,
    });
    checkMemory(spec, this.memoryEstimate, {
      maxBufferSize: engine.limits.maxBufferSize,
      maxStorageBufferBindingSize: engine.limits.maxStorageBufferBindingSize,
      ...(opts.memoryBudget !== undefined ? { memoryBudget: opts.memoryBudget } : {}),
      ...(opts.hostMemoryBudget !== undefined ? { hostBudget: opts.hostMemoryBudget } : {}),
    });

    const params = opts.params ?? SpikingNetwork.initialParams(spec, opts.seed ?? 0);
    this.arena = new ParamArena('params');
    const shapes = netParamShapesOf(spec);
    for (const { name, shape } of shapes) {
      const init = params[name];
      if (!init) throw new Error(`Trainer: initial parameter "${name}" ${JSON.stringify(shape)} is missing`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (init.length !== n) throw new Error(`Trainer: parameter "${name}" has ${init.length} values, expected ${n} (${shape.join('×')})`);
      this.arena.add(name, shape, Float32Array.from(init));
    }
    for (const k of Object.keys(params)) {
      if (!shapes.some((s) => s.name === k)) throw new Error(`Trainer: unknown parameter "${k}" for this network (expected ${shapes.map((s) => s.name).join(', ')})`);
    }
    this.arena.build(engine, { fptt: this.method === 'fptt' });
    const store: ParamStore = { param: (n) => this.arena.view(n).param, grad: (n) => this.arena.view(n).grad };
    this.update = createFpttUpdate(engine, this.arena, {
      alpha: this.fptt.alpha,
      beta: this.fptt.beta,
      clip: this.fptt.clip,
      optimizer: this.optimizer,
      fptt: this.method === 'fptt',
    });
    // the loss kernels read the update count from the optimiser's state (non-finite guard)
    this.net = new SpikingNetwork(engine, spec, store, { slots: maxChunk, oracle: opts.oracle ?? false, updateState: this.update.state });
    this.inputBuf = new Float32Array(cfg.B * cfg.D);
    this.evalBlockSteps = evaluationBlockSteps(cfg.B * cfg.D);
    this.evalHost = new Float32Array(this.evalBlockSteps * cfg.B * cfg.D);
    this.evalInputs = engine.tensor([this.evalBlockSteps, cfg.B * cfg.D], { label: 'evaluation inputs' });
    if (opts.captureGradients) {
      this.gradSnapshots = {
        seed: engine.tensor([this.arena.totalElements], { label: 'grad_seed_snapshot' }),
        after: engine.tensor([this.arena.totalElements], { label: 'grad_snapshot' }),
      };
    }
    // built: W̄ = W and λ = 0, so ∇R = 0 = grad already
    this.gradSeedVersion = this.arena.version;
    this.reseed = this.update.prepare ? [this.arena.zeroGrads(), this.update.prepare] : [];
  }

  /**
   * The re-seeding dispatches when W, W̄ or λ were written from outside since the update last left
   * grad = ∇R (FPTT); else none. The caller marks the seed done (gradSeedVersion) once the chunk
   * that carries them is submitted, so an encoding error cannot lose the re-seed.
   */
  private reseedDispatches(): Dispatch[] {
    if (this.reseed.length === 0 || this.arena.version === this.gradSeedVersion) return [];
    return this.reseed;
  }

  /** The loss terms of chunk position j of chunk p, per head (see the file header); [] when none. */
  private lossesAt(p: number, j: number, L: number): { head: string; w: number; scale: number }[] {
    const [t0] = this.chunks[p]!;
    const t = t0 + j;
    const out: { head: string; w: number; scale: number }[] = [];
    for (const h of this.net.cfg.heads) {
      const weight = h.head!.weight;
      const classification = h.head!.loss === 'xent';
      if (this.method === 'fptt') {
        if (j === L - 1) out.push(classification ? { head: h.name, w: (t + 1) / this.T, scale: weight } : { head: h.name, w: (p + 1) / this.K, scale: weight });
      } else if (classification) out.push({ head: h.name, w: (t + 1) / this.T, scale: weight / this.T });
      else if (j === L - 1) out.push({ head: h.name, w: 1, scale: weight });
    }
    return out;
  }

  /** The dispatches of chunk p, in order (forward, losses, backward, update). */
  private chunkDispatches(p: number, L: number): Dispatch[] {
    const net = this.net;
    const out: Dispatch[] = [];
    for (let j = 0; j < L; j++) {
      out.push(...net.forward(j));
      out.push(...net.losses(j, this.lossesAt(p, j, L).map((l) => l.head)));
    }
    for (let j = L - 1; j >= 0; j--) out.push(...net.backward(j, { isEnd: j === L - 1, lossHeads: this.lossesAt(p, j, L).map((l) => l.head) }));
    out.push(...this.update.dispatches);
    return out;
  }

  private setTargets(src: SequenceBatchSource): void {
    const net = this.net;
    const byKind = (kind: 'xent' | 'mse' | 'yolo') => net.heads.filter((h) => h.loss === kind).length;
    if (byKind('yolo') > 0) {
      if (!src.boxes) throw new Error(`Trainer: the network has detect heads (${net.detectHeads.map((h) => h.name).join(', ')}); the batch needs boxes (one list per sample)`);
      net.setBoxes(src.boxes);
    }
    for (const h of net.heads) {
      if (h.loss === 'yolo') continue;
      const own = src.heads?.[h.name];
      const sole = byKind(h.loss) === 1;
      if (h.loss === 'xent') {
        const labels = own?.labels ?? (sole ? src.labels : undefined);
        if (!labels) throw new Error(`Trainer: head "${h.name}" classifies; the batch needs labels${sole ? '' : ` (heads.${h.name}.labels)`}`);
        net.setLabels(labels, h.name);
        if (net.readout?.q && h === net.heads[0]) {
          const q = own?.oracle ?? src.oracle;
          if (!q) throw new Error('Trainer: built with oracle: true; the batch needs an oracle target Q (B×C)');
          net.setOracle(q, h.name);
        }
      } else {
        const targets = own?.targets ?? (sole ? src.targets : undefined);
        if (!targets) throw new Error(`Trainer: head "${h.name}" regresses; the batch needs targets${sole ? '' : ` (heads.${h.name}.targets)`}`);
        net.setTarget(targets, h.name);
      }
    }
  }

  private current: SequenceBatchSource | null = null;

  /**
   * Start a batch of sequences: reset the state (`rng` draws a random initial state, or give the
   * state itself by SPEC §7 names) and set the targets.
   */
  beginSequence(src: SequenceBatchSource, init: Rng | Record<string, ArrayLike<number>> | null = null): void {
    if (init instanceof Rng || init === null) this.net.resetState(init);
    else this.net.writeState(init);
    this.setTargets(src);
    this.current = src;
  }

  /** Record and submit chunk p of the current sequence (one command encoder, no readback). */
  trainChunk(p: number): void {
    const src = this.current;
    if (!src) throw new Error('Trainer.trainChunk: call beginSequence first');
    const net = this.net;
    const bounds = this.chunks[p];
    if (!bounds) throw new Error(`Trainer.trainChunk: chunk ${p} does not exist (K = ${this.K})`);
    const [t0, t1] = bounds;
    const L = t1 - t0;
    for (let j = 0; j < L; j++) {
      src.fillStep(t0 + j, this.inputBuf);
      net.setInput(j, this.inputBuf);
      for (const l of this.lossesAt(p, j, L)) net.setLoss(j, l.head, { w: l.w, scale: l.scale, countPrediction: t0 + j === this.T - 1 });
    }
    const enc = this.engine.device.createCommandEncoder({ label: `${this.method} chunk ${p}` });
    const reseed = this.reseedDispatches();
    const dispatches = this.chunkDispatches(p, L);
    const snap = this.gradSnapshots;
    const grad = this.arena.flat('grad');
    if (snap) {
      // with captureGradients: the seed, its copy, forward + backward, the copy of the gradients, then the update
      if (reseed.length > 0) {
        const seed = enc.beginComputePass({ label: `${this.method} chunk ${p} gradient seed` });
        for (const d of reseed) d.encode(seed);
        seed.end();
      }
      enc.copyBufferToBuffer(grad.buffer, grad.byteOffset, snap.seed.buffer, snap.seed.byteOffset, grad.byteLength);
    }
    const pass = enc.beginComputePass({ label: `${this.method} chunk ${p}` });
    if (!snap) for (const d of reseed) d.encode(pass);
    const nBody = snap ? dispatches.length - this.update.dispatches.length : dispatches.length;
    for (let i = 0; i < nBody; i++) dispatches[i]!.encode(pass);
    pass.end();
    if (snap) {
      enc.copyBufferToBuffer(grad.buffer, grad.byteOffset, snap.after.buffer, snap.after.byteOffset, grad.byteLength);
      const upd = enc.beginComputePass({ label: `${this.method} chunk ${p} update` });
      for (let i = nBody; i < dispatches.length; i++) dispatches[i]!.encode(upd);
      upd.end();
    }
    net.encodeCarry(enc, L);
    this.engine.submit(enc, `${this.method} training chunk ${p} (steps ${t0}..${t1 - 1}) of sequence ${this.sequences}`);
    if (reseed.length > 0) this.gradSeedVersion = this.arena.version;
    if (p === this.chunks.length - 1) this.sequences++;
  }

  /** Train on one batch of sequences: every chunk, submitted without any readback. */
  trainSequence(src: SequenceBatchSource, rng: Rng | null = null): void {
    this.beginSequence(src, rng);
    for (let p = 0; p < this.chunks.length; p++) this.trainChunk(p);
  }

  /** The dispatches of chunk p in recording order (for profiling). */
  chunkDispatchList(p = 0): Dispatch[] {
    const [t0, t1] = this.chunks[p]!;
    return this.chunkDispatches(p, t1 - t0);
  }

  /** Dispatches per update (chunk), for the step benchmark. */
  dispatchesPerChunk(p = 0): number {
    const [t0, t1] = this.chunks[p]!;
    return this.chunkDispatches(p, t1 - t0).length;
  }

  /**
   * Forward only over a whole batch of sequences (no update); the loss and prediction of the last
   * step go into the metrics. Uses position 0 of the slots. The inputs of up to
   * `evalBlockSteps` steps are written at once into a staging tensor, and one command encoder per
   * block copies each step's input into slot 0 before that step's forward pass (copies and passes
   * run in recording order), so a sequence costs ⌈T / block⌉ submits, not T.
   */
  evaluateSequence(src: SequenceBatchSource, rng: Rng | null = null): void {
    this.net.resetState(rng);
    this.setTargets(src);
    this.forwardStaged((t, out) => src.fillStep(t, out), true);
  }

  /**
   * Forward only over a whole sequence with no loss and no metrics (inference): afterwards the
   * state (readState(0), e.g. the readout's `o`) is that after the last step. Staged in blocks
   * like evaluateSequence.
   */
  inferSequence(fillStep: (t: number, out: Float32Array) => void, rng: Rng | null = null): void {
    this.net.resetState(rng);
    this.forwardStaged(fillStep, false);
  }

  private forwardStaged(fillStep: (t: number, out: Float32Array) => void, withLoss: boolean): void {
    const net = this.net;
    const block = this.evalBlockSteps;
    const stepFloats = this.inputBuf.length;
    const stepBytes = 4 * stepFloats;
    const staging = this.evalInputs;
    const slot0 = net.inputs[0]!;
    for (let t0 = 0; t0 < this.T; t0 += block) {
      const n = Math.min(block, this.T - t0);
      for (let j = 0; j < n; j++) fillStep(t0 + j, this.evalHost.subarray(j * stepFloats, (j + 1) * stepFloats));
      this.engine.device.queue.writeBuffer(staging.buffer, staging.byteOffset, this.evalHost.buffer, this.evalHost.byteOffset, n * stepBytes);
      const lastBlock = t0 + n === this.T;
      const heads = net.cfg.heads;
      if (withLoss && lastBlock) for (const h of heads) net.setLoss(0, h.name, { w: 1, scale: h.head!.weight, countPrediction: true });
      const enc = this.engine.device.createCommandEncoder({ label: 'evaluate' });
      for (let j = 0; j < n; j++) {
        enc.copyBufferToBuffer(staging.buffer, staging.byteOffset + j * stepBytes, slot0.buffer, slot0.byteOffset, stepBytes);
        const withLossHere = withLoss && lastBlock && j === n - 1;
        net.encodeInferenceStep(enc, `evaluate step ${t0 + j}`, withLossHere ? heads.map((h) => h.name) : []);
      }
      this.engine.submit(enc, `${withLoss ? 'evaluation' : 'inference'} steps ${t0}..${t0 + n - 1}`);
    }
  }

  /** Read and reset the metrics accumulated since the last call (one readback). */
  async readMetrics(): Promise<TrainMetrics> {
    const heads = this.net.heads;
    const vals = await this.engine.readMany([this.update.state, ...heads.map((h) => h.metrics)]);
    const s = vals[0]!;
    const su = new Uint32Array(s.buffer, s.byteOffset, s.length);
    const gnSum = s[STATE_GRAD_NORM_SUM]!;
    const gnCount = su[STATE_GRAD_NORM_COUNT]!;
    const gradBad = su[STATE_NONFINITE_STEP]!;
    const perHead: Record<string, HeadMetrics> = {};
    let loss = 0;
    let lossCount = 0;
    let accuracy = NaN;
    let mse = NaN;
    let lossBad = 0;
    let lossBadValue = NaN;
    heads.forEach((h, i) => {
      const m = vals[i + 1]!;
      const count = m[METRIC.LOSS_COUNT]!;
      const counted = m[METRIC.PREDICTIONS]!;
      const hm: HeadMetrics = {
        loss: count > 0 ? m[METRIC.LOSS_SUM]! / count : NaN,
        accuracy: h.loss === 'xent' && counted > 0 ? m[METRIC.CORRECT]! / counted : NaN,
        mse: h.loss === 'mse' && counted > 0 ? m[METRIC.SQUARED_ERROR]! / counted : NaN,
        lossCount: count,
      };
      if (h.loss === 'yolo') {
        const per = (w: number) => (count > 0 ? m[w]! / count : NaN);
        hm.parts = { obj: per(DETECT_METRIC.OBJ_SUM), box: per(DETECT_METRIC.BOX_SUM), cls: per(DETECT_METRIC.CLS_SUM) };
      }
      perHead[h.name] = hm;
      loss += hm.loss;
      lossCount = Math.max(lossCount, count);
      if (h.loss === 'xent' && Number.isNaN(accuracy)) accuracy = hm.accuracy;
      if (h.loss === 'mse' && Number.isNaN(mse)) mse = hm.mse;
      const bad = 65536 * m[METRIC.NONFINITE_UPDATE_HI]! + m[METRIC.NONFINITE_UPDATE_LO]!;
      if (bad > 0 && (lossBad === 0 || bad < lossBad)) {
        lossBad = bad;
        lossBadValue = m[METRIC.NONFINITE_VALUE]!;
      }
    });
    let nonFinite: NonFiniteMark | null = null;
    if (lossBad > 0 && (gradBad === 0 || lossBad <= gradBad)) nonFinite = { quantity: 'loss', update: lossBad, value: lossBadValue };
    else if (gradBad > 0) nonFinite = { quantity: 'gradNorm', update: gradBad, value: gradBad === su[STATE_STEP] ? s[STATE_GRAD_NORM]! : NaN };
    this.net.resetMetrics();
    this.update.resetGradNormSum();
    return {
      loss: lossCount > 0 ? loss : NaN,
      accuracy,
      mse,
      heads: perHead,
      gradNorm: gnCount > 0 ? gnSum / gnCount : NaN,
      lossCount,
      updates: gnCount,
      nonFinite,
    };
  }

  /** W ← W̄ (FPTT, at the end of an epoch: the evaluated model is the running mean). */
  commitMean(): void {
    if (this.method !== 'fptt') return;
    this.arena.commitMean();
  }

  async readParams(): Promise<Record<string, Float32Array>> {
    return this.arena.readAll('param');
  }

  /**
   * The gradients the last update started from, by parameter name: ∇ℓ of its chunk, before the
   * FPTT regulariser and clipping (only with TrainerOptions.captureGradients; waits for the GPU).
   * The grad arena holds ∇ℓ + ∇R under FPTT, so this is the difference of two snapshots (after
   * and before the backward): each += of the backward rounds at the size of ∇R plus the sum so
   * far, so an entry is within a few ulp of |∇R| + |∇ℓ| of ∇ℓ (exact in plain mode, where ∇R = 0).
   */
  async readGradients(): Promise<Record<string, Float32Array>> {
    if (!this.gradSnapshots) throw new Error('Trainer.readGradients: the trainer was built without captureGradients: true');
    const [after, before] = await this.engine.readMany([this.gradSnapshots.after, this.gradSnapshots.seed]);
    const g = new Float32Array(after!.length);
    for (let i = 0; i < g.length; i++) g[i] = after![i]! - before![i]!;
    return this.arena.split(g);
  }

  destroy(): void {
    this.gradSnapshots?.seed.destroy();
    this.gradSnapshots?.after.destroy();
    this.evalInputs.destroy();
    this.update.destroy();
    this.net.destroy();
    this.arena.destroy();
  }
}

function netParamShapesOf(spec: NetSpec): { name: string; shape: number[] }[] {
  // same order and names as the CPU reference (src/ref/graph.ts)
  return SpikingNetwork.shapesOf(netConfig(spec));
}
