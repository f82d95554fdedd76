/**
 * The training loop behind `webgpu-snn train` (and, later, the browser page). Browser-safe.
 *
 * Per iteration: one batch of sequences from the task's BatchSource, `trainer.trainSequence`
 * (all chunks submitted, nothing read back). Every `logEvery` iterations the metrics
 * accumulated on the GPU are read (one readback) and a `train` record is emitted. Evaluation:
 *   - tasks with epochs (classification): at each epoch end W ← W̄ (commitMean, SPEC §4), then
 *     the whole test split is evaluated; if the run stops mid-epoch (an iteration cap), the final
 *     evaluation uses W̄ without committing it (W is swapped out and restored exactly);
 *   - tasks without epochs (Add task): every `evalEvery` iterations and at the end, on the same
 *     fixed seeded evaluation batches, with the current W (and W̄ beside it with `evalMean`).
 * How a split is evaluated, and its metrics: src/train/evaluate.ts.
 *
 * Stop requests (Ctrl-C, SIGTERM) are honoured after the current chunk (one FPTT update), not
 * at the next log point. Submits do not wait for the GPU, so a free-running host would queue a
 * whole log window of work before its next readback, and a stop would wait for all of it. The
 * loop therefore keeps only about AHEAD_SECONDS of GPU work in flight: each chunk's completion
 * is watched (queue.onSubmittedWorkDone, one promise per chunk), and while the oldest unfinished
 * chunk was submitted more than AHEAD_SECONDS ago (and more than two are unfinished) the loop
 * waits for it. (A fixed depth of two chunks costs 1.5–3× in throughput on SwiftShader for short
 * chunks: each completion takes 10–20 ms to be reported.) So a stop lands after at most about
 * AHEAD_SECONDS of queued work, or after the chunks in flight when they are longer than that.
 * The loop then reads the metrics,
 * asks for a checkpoint and returns. Everything that decides the future of the run — the
 * trainer's tensors and step, the data source's state, the initial-state Rng and the loop
 * counters — is in `snapshot()`, so a resumed run continues bit for bit. A stop inside a sequence
 * also records the chunk to continue from (`counters.chunk`), the data source's state before the
 * sequence's batch (the resumed run draws the same batch again) and the network's state carried
 * into that chunk (`sequenceState`, written back in place of a fresh initial state): the next
 * chunk reads nothing else that the previous one left, so this resume is bit-exact too.
 */
import type { BatchSourceState } from '../data/dataset.js';
import { rngStateFromJson, rngStateToJson } from '../data/dataset.js';
import type { ScheduleConfig } from '../tasks/config.js';
import type { TaskData } from '../tasks/data.js';
import { Rng } from '../util/rng.js';
import type { SequenceBatchSource, Trainer } from './trainer.js';
import { NonFiniteError, quantityText } from './nonfinite.js';
import type { DetectionExample } from './evaluate_detect.js';
import { evaluateMeanParams, evaluateParams, evaluationRecord, finiteOrNull, round3, type EvalMetrics, type EvalWeights } from './evaluate.js';

export interface MetricRecord {
  kind: 'train' | 'eval';
  /** Epoch (1-based) the record belongs to; 0 for tasks without epochs. */
  epoch: number;
  /** Training iterations (batches) done. */
  step: number;
  loss: number | null;
  accuracy?: number | null;
  mse?: number | null;
  /** Mean ‖g‖ before clipping over the window (train). */
  gradNorm?: number | null;
  /** Iterations per second over the window (train). */
  stepsPerSec?: number;
  /** Seconds of training since the run began (summed over resumed sessions). */
  time: number;
  /** Samples evaluated (eval). */
  samples?: number;
  /** Which weights were evaluated (eval): 'W' or 'mean' (W̄). */
  weights?: 'W' | 'mean';
  /** Evaluation of W̄ beside W (eval, Add task with evalMean). */
  lossMean?: number | null;
  mseMean?: number | null;
  /** Detection (eval): mAP@0.5, mAP@[.5:.95] and AP@0.5 per class. */
  map50?: number | null;
  map?: number | null;
  ap50?: (number | null)[];
  /** Detection (eval): sample test images with true and predicted boxes; not written to metrics.jsonl (the CLI keeps them in detections.json). */
  examples?: DetectionExample[];
}

/**
 * The event written when training stops on a non-finite value (the non-finite guard): instead of
 * a train record with `"loss": null`, this names the quantity ('loss', 'gradNorm', or a
 * checkpoint tensor such as 'param/l0.Wx'), the iteration (`step`) and the optimiser update.
 */
export interface NonFiniteRecord {
  kind: 'nonfinite';
  epoch: number;
  /** The training iteration (batch) in which the value appeared. */
  step: number;
  /** The optimiser update (1-based) at which it appeared; null when not known (a tensor check). */
  update: number | null;
  quantity: string;
  /** 'NaN', 'Infinity', '-Infinity' (JSON has no such numbers). */
  value: string;
  time: number;
  message: string;
}

export interface LoopCounters {
  iteration: number;
  /** Completed epochs. */
  epoch: number;
  batchInEpoch: number;
  /** Seconds trained in earlier sessions. */
  elapsed: number;
  /** Iteration of the last evaluation (-1: none). */
  lastEval: number;
  /**
   * Stopped inside a sequence: the chunk of iteration `iteration + 1` to continue from (0:
   * between sequences). Optional in snapshots written before mid-sequence stops existed.
   */
  chunk?: number;
}

export interface LoopSnapshot {
  counters: LoopCounters;
  rng: Record<string, (number | null)[]>;
  /** The data source's state; inside a sequence, its state before that sequence's batch. */
  data: BatchSourceState;
  /** Inside a sequence (counters.chunk > 0): the network state carried into that chunk (SPEC §7 names). */
  sequenceState?: Record<string, Float32Array>;
}

export interface Progress {
  iteration: number;
  total: number;
  epoch: number;
  epochs: number | null;
  batchInEpoch: number;
  batchesPerEpoch: number | null;
  lastTrain: MetricRecord | null;
  lastEval: MetricRecord | null;
  /** Iterations per second (recent). */
  stepsPerSec: number;
  /** Seconds left at the recent rate (NaN before the first measurement). */
  eta: number;
  time: number;
  phase: 'train' | 'eval' | 'checkpoint' | 'done';
}

export type CheckpointReason = 'periodic' | 'stop' | 'end';

export interface LoopOptions {
  trainer: Trainer;
  data: TaskData;
  schedule: ScheduleConfig;
  /** Seed of the initial-state Rng (random initial states of classification networks). */
  stateSeed: number;
  /** Seed of the evaluation's initial states (the same at every evaluation). */
  evalStateSeed?: number;
  /** Also evaluate W̄ on tasks without epochs. */
  evalMean?: boolean;
  /** Restore a snapshot (resume). */
  resume?: LoopSnapshot;
  onRecord?: (r: MetricRecord) => void | Promise<void>;
  /** Training stops on a non-finite value: this event is emitted (before the NonFiniteError is thrown). */
  onNonFinite?: (r: NonFiniteRecord) => void | Promise<void>;
  onProgress?: (p: Progress) => void;
  onCheckpoint?: (reason: CheckpointReason, loop: TrainingLoop) => Promise<void>;
  /** After each training chunk is submitted (`iteration` is the 0-based sequence it belongs to). */
  onChunk?: (iteration: number, chunk: number) => void;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface LoopResult {
  stopped: boolean;
  /** counters.chunk > 0: stopped inside a sequence, after that many of its chunks. */
  counters: LoopCounters;
  lastTrain: MetricRecord | null;
  lastEval: MetricRecord | null;
  /** Wall seconds of this session's loop. */
  wall: number;
  /** Iterations this session. */
  iterations: number;
}

/** Seconds of GPU work the host may queue ahead of the GPU (two chunks in flight are always allowed). */
export const AHEAD_SECONDS = 0.25;
const MAX_AHEAD_CHUNKS = 256;

/** A submitted chunk whose completion is watched. */
interface InFlight {
  submitted: number;
  done: boolean;
  promise: Promise<void>;
}

const yieldNow = (): Promise<void> =>
  new Promise((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));

export class TrainingLoop {
  readonly trainer: Trainer;
  readonly data: TaskData;
  readonly schedule: ScheduleConfig;
  readonly classification: boolean;
  /** The network has detect heads: batches carry boxes, records carry no accuracy / mse. */
  readonly detection: boolean;
  readonly stateRng: Rng;
  counters: LoopCounters = { iteration: 0, epoch: 0, batchInEpoch: 0, elapsed: 0, lastEval: -1 };
  lastTrain: MetricRecord | null = null;
  lastEval: MetricRecord | null = null;
  private stopRequested = false;
  /** Set when a stop lands inside a sequence (see the file header). */
  private midSequence: { dataBefore: BatchSourceState; state: Record<string, Float32Array> } | null = null;
  /** Submitted chunks not yet seen complete, oldest first (see the file header). */
  private readonly inFlight: InFlight[] = [];
  /** Restored from a mid-sequence snapshot: the state to continue the sequence from. */
  private resumeState: Record<string, Float32Array> | null = null;
  private readonly now: () => number;
  private sessionStart = 0;
  private windowStart = 0;
  private windowIters = 0;
  private rate = NaN;
  private readonly evalStateSeed: number;

  constructor(readonly opts: LoopOptions) {
    this.trainer = opts.trainer;
    this.data = opts.data;
    this.schedule = opts.schedule;
    this.classification = this.trainer.net.readout !== null;
    this.detection = this.trainer.net.detectHeads.length > 0;
    this.stateRng = new Rng(opts.stateSeed);
    this.evalStateSeed = opts.evalStateSeed ?? (opts.stateSeed + 0x5eed) >>> 0;
    this.now = opts.now ?? (() => (typeof performance !== 'undefined' ? performance.now() : Date.now()));
    if (opts.resume) this.restore(opts.resume);
  }

  /** Total iterations of the run (the iteration cap, or epochs × batches per epoch). */
  get totalIterations(): number {
    const s = this.schedule;
    const bpe = this.data.batchesPerEpoch;
    const byEpochs = s.epochs !== null && bpe !== null ? s.epochs * bpe : Infinity;
    const cap = s.iterations ?? Infinity;
    const total = Math.min(byEpochs, cap);
    if (!Number.isFinite(total)) throw new Error('TrainingLoop: the schedule sets neither iterations nor epochs (for a task with epochs)');
    return total;
  }

  /** Ask the loop to stop after the current chunk (it writes a checkpoint first). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Chunks submitted and not yet seen complete, and how long ago the oldest of them was submitted (ms). */
  get queued(): { chunks: number; oldestMs: number } {
    const open = this.inFlight.filter((f) => !f.done);
    return { chunks: open.length, oldestMs: open.length ? this.now() - open[0]!.submitted : 0 };
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  /** Seconds trained, this session included. */
  get time(): number {
    return this.counters.elapsed + (this.sessionStart ? (this.now() - this.sessionStart) / 1000 : 0);
  }

  snapshot(): LoopSnapshot {
    const mid = this.midSequence;
    return {
      counters: { ...this.counters, elapsed: this.time, chunk: mid ? (this.counters.chunk ?? 0) : 0 },
      rng: { state: rngStateToJson(this.stateRng) },
      data: mid ? mid.dataBefore : this.data.train.getState(),
      ...(mid ? { sequenceState: mid.state } : {}),
    };
  }

  private restore(s: LoopSnapshot): void {
    const c = s.counters;
    for (const k of ['iteration', 'epoch', 'batchInEpoch', 'elapsed', 'lastEval'] as const) {
      if (typeof c[k] !== 'number' || !Number.isFinite(c[k])) throw new Error(`TrainingLoop: snapshot counter ${k} is ${String(c[k])}`);
    }
    const chunk = c.chunk ?? 0;
    const K = this.trainer.chunks.length;
    if (!Number.isInteger(chunk) || chunk < 0 || chunk >= K) throw new Error(`TrainingLoop: snapshot counter chunk is ${String(chunk)}, expected an integer in 0..${K - 1} (K = ${K})`);
    if (chunk > 0 && !s.sequenceState) throw new Error(`TrainingLoop: the snapshot stopped inside a sequence (before chunk ${chunk}) but holds no network state to continue it from`);
    this.counters = { iteration: c.iteration, epoch: c.epoch, batchInEpoch: c.batchInEpoch, elapsed: c.elapsed, lastEval: c.lastEval, chunk };
    if (chunk > 0) this.checkSequenceState(s.sequenceState!);
    this.resumeState = chunk > 0 ? s.sequenceState! : null;
    this.stateRng.setState(rngStateFromJson(s.rng['state'], 'TrainingLoop snapshot rng.state'));
    this.data.train.setState(s.data);
  }

  /** A mid-sequence snapshot's network state must hold every state tensor of this network, sized for it. */
  private checkSequenceState(state: Record<string, Float32Array>): void {
    const net = this.trainer.net;
    const want = new Map<string, number>(net.cfg.stateShapes.map((s) => [s.name, s.size]));
    for (const [name, n] of want) {
      const v = state[name];
      if (!v) throw new Error(`TrainingLoop: the snapshot's network state lacks "${name}" (it holds ${Object.keys(state).join(', ') || 'nothing'})`);
      if (v.length !== n) throw new Error(`TrainingLoop: the snapshot's network state "${name}" has ${v.length} values, this network needs ${n}`);
    }
    for (const name of Object.keys(state)) if (!want.has(name)) throw new Error(`TrainingLoop: the snapshot's network state has "${name}", which this network does not`);
  }

  private currentEpoch(): number {
    return this.data.batchesPerEpoch === null ? 0 : this.counters.epoch + 1;
  }

  private progress(phase: Progress['phase']): void {
    if (!this.opts.onProgress) return;
    const total = this.totalIterations;
    this.opts.onProgress({
      iteration: this.counters.iteration,
      total,
      epoch: this.currentEpoch(),
      epochs: this.data.batchesPerEpoch === null ? null : this.schedule.epochs,
      batchInEpoch: this.counters.batchInEpoch,
      batchesPerEpoch: this.data.batchesPerEpoch,
      lastTrain: this.lastTrain,
      lastEval: this.lastEval,
      stepsPerSec: this.rate,
      eta: Number.isFinite(this.rate) && this.rate > 0 ? (total - this.counters.iteration) / this.rate : NaN,
      time: this.time,
      phase,
    });
  }

  private async emit(r: MetricRecord): Promise<void> {
    if (r.kind === 'train') this.lastTrain = r;
    else this.lastEval = r;
    await this.opts.onRecord?.(r);
  }

  /**
   * Stop on a non-finite value: emit a NonFiniteRecord, then throw a NonFiniteError (no
   * checkpoint is written after it, so the last good one stays as it was).
   */
  private async stopNonFinite(quantity: string, update: number | null, value: number, iteration: number, detail = ''): Promise<never> {
    const at = update !== null ? `at iteration ${iteration} (optimiser update ${update})` : `at iteration ${iteration}`;
    const message = `training stopped ${at}: ${quantityText(quantity)} is ${value}${detail}; no checkpoint is written from it (a lower learning rate, or gradient clipping, usually avoids this)`;
    const r: NonFiniteRecord = { kind: 'nonfinite', epoch: this.currentEpoch(), step: iteration, update, quantity, value: String(value), time: round3(this.time), message };
    await this.opts.onNonFinite?.(r);
    throw new NonFiniteError({ quantity, update, iteration, value }, message);
  }

  /** Read the metrics window (one readback) and emit a train record if it holds iterations. */
  private async flushTrain(epoch = this.currentEpoch()): Promise<void> {
    if (this.windowIters === 0) return;
    const m = await this.trainer.readMetrics();
    if (m.nonFinite) {
      // updates run K per sequence (K = 1 for BPTT), resumed runs included: update u is in sequence ⌈u/K⌉
      const u = m.nonFinite.update;
      await this.stopNonFinite(m.nonFinite.quantity, u, m.nonFinite.value, Math.ceil(u / this.trainer.K));
    }
    const secs = (this.now() - this.windowStart) / 1000;
    const sps = secs > 0 ? this.windowIters / secs : NaN;
    if (Number.isFinite(sps)) this.rate = Number.isFinite(this.rate) ? 0.5 * this.rate + 0.5 * sps : sps;
    const r: MetricRecord = {
      kind: 'train',
      epoch,
      step: this.counters.iteration,
      loss: finiteOrNull(m.loss),
      ...(this.detection ? {} : this.classification ? { accuracy: finiteOrNull(m.accuracy) } : { mse: finiteOrNull(m.mse) }),
      gradNorm: finiteOrNull(m.gradNorm),
      stepsPerSec: Number.isFinite(sps) ? +sps.toPrecision(4) : 0,
      time: round3(this.time),
    };
    this.windowIters = 0;
    await this.emit(r);
    this.windowStart = this.now();
  }

  /** Evaluate the current W over the task's evaluation batches (src/train/evaluate.ts). */
  evaluateCurrent(): Promise<EvalMetrics> {
    return evaluateParams(this.trainer, this.data, this.evalStateSeed);
  }

  /** Evaluate W̄ without changing the training state (W is swapped out and restored exactly). */
  evaluateMean(): Promise<EvalMetrics> {
    return evaluateMeanParams(this.trainer, this.data, this.evalStateSeed);
  }

  private async evaluate(weights: EvalWeights, epoch: number): Promise<void> {
    this.progress('eval');
    const t0 = this.now();
    const r = await evaluationRecord(this.trainer, this.data, {
      weights,
      epoch,
      step: this.counters.iteration,
      evalMean: !!this.opts.evalMean,
      stateSeed: this.evalStateSeed,
      time: () => this.time,
    });
    this.counters.lastEval = this.counters.iteration;
    await this.emit(r);
    // evaluation time is not training time for the rate
    this.windowStart += this.now() - t0;
  }

  private async checkpoint(reason: CheckpointReason): Promise<void> {
    if (!this.opts.onCheckpoint) return;
    this.progress('checkpoint');
    const t0 = this.now();
    try {
      await this.opts.onCheckpoint(reason, this);
    } catch (e) {
      // a tensor about to be written was not finite (captureCheckpoint / writeCheckpointFile)
      // (those errors do not know the loop's iteration; this one names it and records the event)
      if (e instanceof NonFiniteError && e.info.iteration === null) {
        const i = e.info;
        await this.stopNonFinite(i.quantity, i.update, i.value, i.update !== null ? Math.ceil(i.update / this.trainer.K) : this.counters.iteration, i.index !== undefined ? ` (element ${i.index})` : '');
      }
      throw e;
    }
    this.windowStart += this.now() - t0;
  }

  /** Train until the schedule ends or a stop is requested. */
  async run(): Promise<LoopResult> {
    const s = this.schedule;
    const bpe = this.data.batchesPerEpoch;
    const total = this.totalIterations;
    const B = this.trainer.net.cfg.B;
    this.sessionStart = this.now();
    this.windowStart = this.sessionStart;
    this.windowIters = 0;
    const startIteration = this.counters.iteration;
    // start from empty accumulators
    await this.trainer.readMetrics();
    this.progress('train');

    const K = this.trainer.chunks.length;
    const queue = this.trainer.engine.device.queue;
    // chunks submitted and not yet seen complete, oldest first
    const inFlight = this.inFlight;
    inFlight.length = 0;
    this.midSequence = null;
    sequences: while (this.counters.iteration < total && !this.stopRequested) {
      const c = this.counters;
      const dataBefore = this.data.train.getState();
      const batch = this.data.train.nextBatch();
      if (batch.size !== B) throw new Error(`TrainingLoop: the training batch has ${batch.size} sequences, the network expects ${B}`);
      const src: SequenceBatchSource = {
        fillStep: (t, out) => batch.fillStep(t, out, 0),
        ...(this.detection ? { boxes: batch.boxes! } : this.classification ? { labels: batch.labels } : { targets: batch.targets! }),
      };
      // a sequence resumed inside: its carried state instead of a fresh draw
      const first = c.chunk ?? 0;
      if (first > 0) this.trainer.beginSequence(src, this.resumeState!);
      else this.trainer.beginSequence(src, this.stateRng);
      this.resumeState = null;
      c.chunk = 0;
      for (let p = first; p < K; p++) {
        this.trainer.trainChunk(p);
        // about AHEAD_SECONDS of work ahead of the GPU (see the file header), so a stop lands soon
        const f: InFlight = { submitted: this.now(), done: false, promise: Promise.resolve() };
        f.promise = queue.onSubmittedWorkDone().then(() => void (f.done = true));
        inFlight.push(f);
        for (;;) {
          while (inFlight.length > 0 && inFlight[0]!.done) inFlight.shift();
          const oldest = inFlight[0];
          if (!oldest || inFlight.length <= 2 || (inFlight.length <= MAX_AHEAD_CHUNKS && this.now() - oldest.submitted <= AHEAD_SECONDS * 1000)) break;
          await oldest.promise;
        }
        this.opts.onChunk?.(c.iteration, p);
        if (p + 1 < K) {
          await yieldNow();
          if (this.stopRequested) {
            c.chunk = p + 1;
            this.midSequence = { dataBefore, state: await this.trainer.net.readState(0) };
            break sequences;
          }
        }
      }
      c.iteration++;
      c.batchInEpoch++;
      this.windowIters++;
      const epochEnd = bpe !== null && c.batchInEpoch >= bpe;
      if (c.iteration % s.logEvery === 0 || epochEnd) await this.flushTrain();
      if (epochEnd) {
        const finished = c.epoch + 1;
        c.epoch = finished;
        c.batchInEpoch = 0;
        this.trainer.commitMean();
        await this.evaluate('committed', finished);
      } else if (s.evalEvery > 0 && c.iteration % s.evalEvery === 0) {
        await this.flushTrain();
        await this.evaluate('current', this.currentEpoch());
      }
      if (s.checkpointEvery > 0 && c.iteration % s.checkpointEvery === 0 && c.iteration < total) await this.checkpoint('periodic');
      this.progress('train');
      await yieldNow();
    }
    await this.flushTrain();
    const stopped = this.stopRequested && (this.counters.iteration < total || this.midSequence !== null);
    if (!stopped && this.counters.lastEval !== this.counters.iteration) {
      // the run ends between epoch ends / evaluation points: one last evaluation
      await this.evaluate(bpe !== null ? 'mean-swap' : 'current', this.currentEpoch());
    }
    await this.checkpoint(stopped ? 'stop' : 'end');
    this.progress('done');
    const wall = (this.now() - this.sessionStart) / 1000;
    return {
      stopped,
      counters: { ...this.counters, elapsed: this.time },
      lastTrain: this.lastTrain,
      lastEval: this.lastEval,
      wall,
      iterations: this.counters.iteration - startIteration,
    };
  }
}

/** One JSONL line (NaN and ±Infinity as null). */
export function recordToJsonl(r: MetricRecord): string {
  const { examples: _examples, ...rest } = r;
  return JSON.stringify(rest, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}
