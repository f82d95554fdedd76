/**
 * Evaluation of a trainer on a task's evaluation split, for the training loop (src/train/loop.ts)
 * and `webgpu-snn train`. Browser-safe.
 *
 * Each evaluation batch runs forward over the whole sequence (`trainer.evaluateSequence`, no
 * update) from initial states drawn from an Rng of a fixed seed, the same at every evaluation.
 * The metrics are computed on the host from the last step's outputs (readback is fine here):
 * classification, the mean cross-entropy of the readout and the accuracy of its argmax;
 * regression, the mean squared error over the outputs (loss = mse). A batch smaller than the
 * network's B is padded by repeating its rows, and the padding is not counted. What the
 * evaluation adds to the training metrics accumulators is read and discarded.
 *
 * Weights: the current W, or W̄ by a swap that leaves the training state untouched (W is read,
 * replaced by W̄, evaluated, and written back exactly); without FPTT there is no W̄ and W is used.
 */
import type { Batch } from '../data/dataset.js';
import type { TaskData } from '../tasks/data.js';
import { Rng } from '../util/rng.js';
import type { MetricRecord } from './loop.js';
import type { SequenceBatchSource, Trainer } from './trainer.js';
import { evaluateDetection, type DetectionEval } from './evaluate_detect.js';

/** Host-side metrics of one evaluation (NaN where they do not apply, or when there were no samples). */
export interface EvalMetrics {
  loss: number;
  accuracy: number;
  mse: number;
  samples: number;
  /** Detection (src/train/evaluate_detect.ts): mAP@0.5, mAP@[.5:.95], per-class AP@0.5, examples. */
  detection?: DetectionEval;
}

/**
 * Which weights an evaluation record is of: 'current' W (with W̄ beside it when asked),
 * 'mean-swap' W̄ swapped in for the evaluation only, or 'committed' (W̄ already written into W).
 */
export type EvalWeights = 'current' | 'mean-swap' | 'committed';

/** Seconds rounded to ms (record times). */
export const round3 = (x: number) => Math.round(x * 1000) / 1000;
/** A record's metric: the number, or null for NaN / ±Infinity. */
export const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** A batch as the trainer's source, padded to B rows by repeating its own rows. */
export function paddedSource(batch: Batch, B: number): SequenceBatchSource {
  const n = batch.size;
  const D = batch.inputSize;
  if (n > B) throw new Error(`paddedSource: batch of ${n} is larger than the network's batch ${B}`);
  const labels = new Int32Array(B);
  for (let r = 0; r < B; r++) labels[r] = batch.labels[r % n]!;
  const boxes = batch.boxes ? Array.from({ length: B }, (_, r) => batch.boxes![r % n]!) : undefined;
  let targets: Float32Array | undefined;
  if (batch.targets) {
    targets = new Float32Array(B);
    for (let r = 0; r < B; r++) targets[r] = batch.targets[r % n]!;
  }
  return {
    fillStep(t: number, out: Float32Array) {
      batch.fillStep(t, out, 0);
      for (let r = n; r < B; r++) out.copyWithin(r * D, (r % n) * D, (r % n) * D + D);
    },
    labels,
    ...(targets ? { targets } : {}),
    ...(boxes ? { boxes } : {}),
  };
}

/** Evaluate the trainer's current W over the evaluation batches (host-side metrics). */
export async function evaluateParams(trainer: Trainer, data: Pick<TaskData, 'evalBatches'>, stateSeed: number): Promise<EvalMetrics> {
  const tr = trainer;
  if (tr.net.detectHeads.length > 0) return evaluateDetection(tr, data, stateSeed);
  const classification = tr.net.readout !== null;
  const B = tr.net.cfg.B;
  const rng = new Rng(stateSeed);
  let n = 0;
  let lossSum = 0;
  let correct = 0;
  let sq = 0;
  for (const batch of data.evalBatches()) {
    const src = paddedSource(batch, B);
    tr.evaluateSequence(src, rng);
    const rows = batch.size;
    if (classification) {
      const r = tr.net.readout!;
      const o = await tr.engine.read(r.o[0]!);
      const C = r.C;
      for (let b = 0; b < rows; b++) {
        const y = batch.labels[b]!;
        let mx = -Infinity;
        let arg = 0;
        for (let c = 0; c < C; c++) {
          const v = o[b * C + c]!;
          if (v > mx) {
            mx = v;
            arg = c;
          }
        }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(o[b * C + c]! - mx);
        lossSum += -(o[b * C + y]! - mx - Math.log(sum));
        if (arg === y) correct++;
      }
    } else {
      const h = tr.net.linear!;
      const pred = await tr.engine.read(h.pred[0]!);
      const O = h.O;
      for (let b = 0; b < rows; b++) {
        for (let k = 0; k < O; k++) {
          const d = pred[b * O + k]! - batch.targets![b * O + k]!;
          sq += d * d / O;
        }
      }
    }
    n += rows;
  }
  await tr.readMetrics(); // discard what the evaluation added to the training accumulators
  if (n === 0) return { loss: NaN, accuracy: NaN, mse: NaN, samples: 0 };
  return classification
    ? { loss: lossSum / n, accuracy: correct / n, mse: NaN, samples: n }
    : { loss: sq / n, accuracy: NaN, mse: sq / n, samples: n };
}

/** Evaluate W̄ without changing the training state: W is saved, replaced by W̄, then restored exactly. */
export async function evaluateMeanParams(trainer: Trainer, data: Pick<TaskData, 'evalBatches'>, stateSeed: number): Promise<EvalMetrics> {
  const arena = trainer.arena;
  if (!arena.hasFptt) return evaluateParams(trainer, data, stateSeed);
  const saved = await arena.readAll('param');
  arena.writeAll('param', await arena.readAll('mean'));
  try {
    return await evaluateParams(trainer, data, stateSeed);
  } finally {
    arena.writeAll('param', saved);
  }
}

export interface EvalRecordOptions {
  weights: EvalWeights;
  /** The record's epoch (0 for tasks without epochs). */
  epoch: number;
  /** Training iterations done. */
  step: number;
  /** With 'current' weights (FPTT): also evaluate W̄ (lossMean, mseMean). */
  evalMean: boolean;
  /** Seed of the evaluation's initial states. */
  stateSeed: number;
  /** Seconds of training so far, read once the evaluation of `weights` is done. */
  time: () => number;
}

/** Evaluates the trainer and returns the `eval` record of it. */
export async function evaluationRecord(trainer: Trainer, data: Pick<TaskData, 'evalBatches'>, o: EvalRecordOptions): Promise<MetricRecord> {
  const classification = trainer.net.readout !== null;
  const hasMean = trainer.arena.hasFptt;
  const m = o.weights === 'mean-swap' ? await evaluateMeanParams(trainer, data, o.stateSeed) : await evaluateParams(trainer, data, o.stateSeed);
  const r: MetricRecord = {
    kind: 'eval',
    epoch: o.epoch,
    step: o.step,
    loss: finiteOrNull(m.loss),
    ...(m.detection
      ? { map50: finiteOrNull(m.detection.map50), map: finiteOrNull(m.detection.map), ap50: m.detection.ap50.map((a) => (a === null ? null : Math.round(a * 1e4) / 1e4)), examples: m.detection.examples }
      : classification ? { accuracy: finiteOrNull(m.accuracy) } : { mse: finiteOrNull(m.mse) }),
    samples: m.samples,
    weights: o.weights === 'current' || !hasMean ? 'W' : 'mean',
    time: round3(o.time()),
  };
  if (o.weights === 'current' && o.evalMean && hasMean) {
    const mm = await evaluateMeanParams(trainer, data, o.stateSeed);
    r.lossMean = finiteOrNull(mm.loss);
    if (!classification) r.mseMean = finiteOrNull(mm.mse);
  }
  return r;
}
