/**
 * TrainingSession: what the live page (web/) drives, usable from any program. It owns one Trainer
 * (FPTT, K chunks per sequence; K = T by default, one update per step) and a stream of batches
 * (the Add task, or R-MNIST from an ImageSet), and trains one chunk per `trainChunk()` call —
 * encode + submit, never a readback. Everything that reads the GPU is separate and async:
 * `readMetrics()` (every N steps), `recordChunk()` (the states of the chunk just trained, for a
 * spike raster and membrane traces) and `classify()` (forward only, the drawn-digit demo).
 *
 *   const s = await TrainingSession.create(engine, { task: 'add', steps: 20, hidden: [16], batch: 8 });
 *   for (let i = 0; i < 200; i++) s.trainChunk();
 *   const point = await s.readMetrics();    // { step, loss, mse, accuracy, … }
 */
import type { Engine } from '../gpu/engine.js';
import { Trainer, type TrainMetrics } from '../train/trainer.js';
import type { NetSpec } from '../model/spec.js';
import type { OptimizerConfig, FpttConfig } from '../model/optim_config.js';
import { AddTask } from '../data/add_task.js';
import { SequenceBatcher, type Batch, type BatchSource } from '../data/dataset.js';
import { rowMnist } from '../data/image_sequences.js';
import type { ImageSet } from '../data/idx.js';
import { Rng } from '../util/rng.js';

export type SessionTask = 'add' | 'rmnist';

export interface SessionOptions {
  task: SessionTask;
  /** R-MNIST images (required for 'rmnist'). */
  images?: ImageSet;
  /** Sequence length T (Add task; R-MNIST is 28 rows). Default 20. */
  steps?: number;
  /** Hidden layer sizes. Default [32] (Add), [128] (R-MNIST). */
  hidden?: number[];
  /** Batch size. Default 16 (Add), 32 (R-MNIST). */
  batch?: number;
  /** FPTT chunks per sequence; default T (one update per step). */
  K?: number;
  /**
   * Learning rate (Adam for the Add task, Adamax for R-MNIST). Default 0.01, above SPEC's 3e-3 so
   * that the demo visibly learns within seconds.
   */
  lr?: number;
  /** FPTT α (default 0.5 Add, 0.1 R-MNIST). */
  alpha?: number;
  seed?: number;
}

/** One point of the metric curves (a window of steps since the previous read). */
export interface MetricPoint extends TrainMetrics {
  /** Steps (chunks × chunk length) trained when the point was read. */
  step: number;
  /** Sequences (batches) completed. */
  sequences: number;
  /** performance.now() / Date.now() when read, ms. */
  time: number;
}

/** The states of sample 0 after each step of one chunk (per layer, H values each). */
export interface StepRecord {
  step: number;
  /** Position t in the sequence, 0..T-1. */
  t: number;
  u: Float32Array[];
  s: Float32Array[];
  b: Float32Array[];
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface SessionSpec {
  spec: NetSpec;
  /** T, the input size per step and the hidden layer sizes. */
  steps: number;
  input: number;
  hidden: number[];
  K: number;
  fptt: Partial<FpttConfig>;
  optimizer: Partial<OptimizerConfig>;
}

/** The network and trainer settings of a session (dense LTC layers; see SessionOptions). */
export function sessionSpec(o: SessionOptions): SessionSpec {
  const lr = o.lr ?? 0.01;
  if (o.task === 'add') {
    const steps = o.steps ?? 20;
    const hidden = o.hidden ?? [32];
    return {
      spec: {
        batch: o.batch ?? 16,
        input: 2,
        layers: hidden.map((size) => ({ size, kind: 'ltc' as const, recurrent: true, adapt: false })),
        neuron: { thetaFixed: 0.5 },
        head: { kind: 'linear', outputs: 1 },
      },
      steps,
      input: 2,
      hidden,
      K: o.K ?? steps,
      fptt: { alpha: o.alpha ?? 0.5, beta: 0.5, clip: 1 },
      optimizer: { kind: 'adam', lr },
    };
  }
  if (o.task === 'rmnist') {
    const set = o.images;
    if (!set) throw new Error('TrainingSession: the R-MNIST task needs images (an ImageSet from IDX files)');
    const steps = set.rows;
    const hidden = o.hidden ?? [128];
    return {
      spec: {
        batch: o.batch ?? 32,
        input: set.cols,
        layers: hidden.map((size) => ({ size, kind: 'ltc' as const, recurrent: true, adapt: true })),
        head: { kind: 'readout', classes: set.classes, liquid: true },
      },
      steps,
      input: set.cols,
      hidden,
      K: o.K ?? steps,
      fptt: { alpha: o.alpha ?? 0.1, beta: 0.5, clip: 1 },
      optimizer: { kind: 'adamax', lr },
    };
  }
  throw new Error(`TrainingSession: unknown task ${JSON.stringify((o as { task: unknown }).task)} (expected 'add' or 'rmnist')`);
}

export class TrainingSession {
  readonly trainer: Trainer;
  readonly spec: NetSpec;
  readonly T: number;
  readonly K: number;
  /** Inputs per step (D) and the hidden layer sizes. */
  readonly D: number;
  readonly hidden: readonly number[];
  readonly source: BatchSource;
  readonly classification: boolean;
  /** Steps trained (every step of every chunk). */
  step = 0;
  /** Sequences completed. */
  sequences = 0;
  /** Chunk index of the next trainChunk, 0..K-1. */
  chunk = 0;
  readonly history: MetricPoint[] = [];
  private readonly stateRng: Rng;
  private batch: Batch | null = null;
  private lastChunk: { t0: number; L: number; step: number } | null = null;

  private constructor(
    readonly engine: Engine,
    readonly options: SessionOptions,
  ) {
    const { spec, steps, K, fptt, optimizer, input, hidden } = sessionSpec(options);
    this.spec = spec;
    this.D = input;
    this.hidden = hidden;
    this.T = steps;
    this.K = K;
    const seed = options.seed ?? 0;
    this.trainer = new Trainer(engine, spec, { method: 'fptt', steps, K, fptt, optimizer, seed });
    this.classification = this.trainer.net.readout !== null;
    this.stateRng = new Rng(seed + 1);
    if (options.task === 'add') {
      this.source = new AddTask({ steps, batchSize: spec.batch, seed: seed + 2 });
    } else {
      this.source = new SequenceBatcher(rowMnist(options.images!), spec.batch, { shuffle: true, seed: seed + 2, dropLast: true });
    }
  }

  /** Build the trainer and zero the metric accumulators. */
  static async create(engine: Engine, options: SessionOptions): Promise<TrainingSession> {
    const s = new TrainingSession(engine, options);
    // Build every pipeline and bind group now (they are made on first use), so the first
    // trainChunk inside a frame loop is as cheap as the others.
    for (let p = 0; p < s.K; p++) s.trainer.chunkDispatchList(p);
    await s.trainer.readMetrics();
    return s;
  }

  /** Steps in chunk p. */
  chunkLength(p: number): number {
    const [a, b] = this.trainer.chunks[p]!;
    return b - a;
  }

  /** Encode and submit the next chunk (one FPTT update); starts a new batch at chunk 0. No readback. */
  trainChunk(): void {
    const p = this.chunk;
    if (p === 0) {
      this.batch = this.source.nextBatch();
      this.trainer.beginSequence(this.batch, this.classification ? this.stateRng : null);
    }
    this.trainer.trainChunk(p);
    const [t0, t1] = this.trainer.chunks[p]!;
    this.step += t1 - t0;
    this.lastChunk = { t0, L: t1 - t0, step: this.step };
    this.chunk = p + 1;
    if (this.chunk === this.K) {
      this.chunk = 0;
      this.sequences++;
    }
  }

  /** Read (and reset) the metrics accumulated since the last read; appends a history point. */
  async readMetrics(): Promise<MetricPoint> {
    const m = await this.trainer.readMetrics();
    const point: MetricPoint = { ...m, step: this.step, sequences: this.sequences, time: now() };
    this.history.push(point);
    return point;
  }

  /**
   * The states of sample 0 after each step of the chunk trained last (call right after
   * `trainChunk`, before the next one: it reads the chunk's positions 1..L).
   */
  async recordChunk(): Promise<StepRecord[]> {
    const c = this.lastChunk;
    if (!c) return [];
    const net = this.trainer.net;
    const spiking = net.spikingNodes;
    const out: StepRecord[] = [];
    const states = await Promise.all(Array.from({ length: c.L }, (_, j) => net.readState(j + 1)));
    states.forEach((st, j) => {
      const rec: StepRecord = { step: c.step - c.L + j + 1, t: c.t0 + j, u: [], s: [], b: [] };
      spiking.forEach((n, i) => {
        const H = this.hidden[i]!;
        rec.u.push(st[`${n.name}.u`]!.slice(0, H));
        rec.s.push(st[`${n.name}.s`]!.slice(0, H));
        rec.b.push(st[`${n.name}.b`]!.slice(0, H));
      });
      out.push(rec);
    });
    return out;
  }

  /**
   * Classify one input sequence (T×D row-major, e.g. a 28×28 image in [0, 1], one row per step)
   * with the current parameters: a forward pass only, no loss and no update. The image goes into
   * every batch row, each from its own random initial state, and the class probabilities
   * (softmax of the readout at the last step) are averaged. The partly trained sequence, if any,
   * is abandoned: the next trainChunk starts a new batch. Do not call while a chunk is being
   * trained by someone else (pause the loop first).
   */
  async classify(sequence: ArrayLike<number>): Promise<Float32Array> {
    if (!this.classification) throw new Error('TrainingSession.classify: this task is a regression (Add task)');
    const B = this.spec.batch;
    const D = this.D;
    if (sequence.length !== this.T * D) throw new Error(`TrainingSession.classify: expected ${this.T}×${D} = ${this.T * D} values, got ${sequence.length}`);
    const net = this.trainer.net;
    this.chunk = 0;
    // the image's row t in every batch row: one submit per block of steps (Trainer.inferSequence)
    this.trainer.inferSequence((t, x) => {
      for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) x[b * D + d] = sequence[t * D + d]!;
    }, new Rng(1234));
    const o = await this.trainer.engine.read(net.outputTensor());
    const C = o.length / B;
    const probs = new Float32Array(C);
    for (let b = 0; b < B; b++) {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, o[b * C + c]!);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(o[b * C + c]! - mx);
      for (let c = 0; c < C; c++) probs[c] = probs[c]! + Math.exp(o[b * C + c]! - mx) / sum / B;
    }
    return probs;
  }

  destroy(): void {
    this.trainer.destroy();
  }
}
