/**
 * Evaluation of a detector (a network with detect heads) on a task's evaluation batches, for the
 * training loop (src/train/evaluate.ts dispatches here). Browser-safe.
 *
 * Each batch runs forward over the whole sequence (trainer.evaluateSequence: the detect heads'
 * loss at the last step goes into the metrics), then the head maps of the last step are read back
 * and decoded on the host: score = σ(obj)·softmax(cls)_c per anchor, cell and class, scores below
 * SCORE_THRESHOLD dropped, class-wise NMS at IoU 0.5 (at most MAX_DETECTIONS per image), then VOC
 * mAP@0.5 (all-point interpolation, difficult boxes ignored) and mAP@[.5:.95] over every image of
 * the evaluation. The first EXAMPLES images are kept with their boxes for the plots.
 */
import { decodeDetections, type Detection } from '../detect/boxes.js';
import { meanAveragePrecision, meanAveragePrecisionRange, type GroundTruth } from '../detect/map.js';
import { nms } from '../detect/nms.js';
import type { TaskData } from '../tasks/data.js';
import { Rng } from '../util/rng.js';
import { paddedSource, type EvalMetrics } from './evaluate.js';
import type { Trainer } from './trainer.js';

export const SCORE_THRESHOLD = 0.01;
export const NMS_IOU = 0.5;
export const MAX_DETECTIONS = 100;
const EXAMPLES = 8;

export interface DetectionExample {
  /** The input image of the last step, [C, H, W] row-major. */
  image: number[];
  shape: [number, number, number];
  truth: GroundTruth[];
  /** After NMS, highest score first (at most 20 kept here). */
  detections: Detection[];
}

export interface DetectionEval {
  map50: number;
  /** mAP@[.5:.95]. */
  map: number;
  /** AP@0.5 per class (null: no positives in the evaluation). */
  ap50: (number | null)[];
  examples: DetectionExample[];
}

export async function evaluateDetection(trainer: Trainer, data: Pick<TaskData, 'evalBatches'>, stateSeed: number): Promise<EvalMetrics> {
  const tr = trainer;
  const net = tr.net;
  const heads = net.detectHeads;
  const B = net.cfg.B;
  const C = heads[0]!.cfg.classes;
  const shape = (net.cfg.inputShape ?? [1, 1, net.cfg.D]) as [number, number, number];
  const rng = new Rng(stateSeed);
  const dets: Detection[][] = [];
  const gts: GroundTruth[][] = [];
  const examples: DetectionExample[] = [];
  const step = new Float32Array(B * net.cfg.D);
  for (const batch of data.evalBatches()) {
    if (!batch.boxes) throw new Error('evaluateDetection: the evaluation batches carry no boxes (a detection network needs a detection task)');
    tr.evaluateSequence(paddedSource(batch, B), rng);
    const maps = await tr.engine.readMany(heads.map((h) => h.pred[0]!));
    const perImage = decodeDetections(
      heads.map((h, k) => ({ stride: h.scale.stride, anchors: h.scale.anchors, map: maps[k]!, grid: h.scale.size })),
      { numClasses: C, batch: B, scoreThreshold: SCORE_THRESHOLD, classes: 'all' },
    );
    if (examples.length < EXAMPLES) batch.fillStep(batch.steps - 1, step, 0);
    for (let b = 0; b < batch.size; b++) {
      const kept = nms(perImage[b]!, { iouThreshold: NMS_IOU, maxDetections: MAX_DETECTIONS });
      const truth = batch.boxes[b]!.map((g) => ({ x0: g.x0, y0: g.y0, x1: g.x1, y1: g.y1, cls: g.cls, difficult: g.difficult ?? false }));
      dets.push(kept);
      gts.push(truth);
      if (examples.length < EXAMPLES) {
        const D = net.cfg.D;
        examples.push({ image: Array.from(step.subarray(b * D, (b + 1) * D), (v) => Math.round(v * 1000) / 1000), shape, truth, detections: kept.slice(0, 20) });
      }
    }
  }
  const m = await tr.readMetrics(); // the detect heads' loss of the evaluation (and nothing left for training)
  const n = gts.length;
  if (n === 0) return { loss: NaN, accuracy: NaN, mse: NaN, samples: 0 };
  const r50 = meanAveragePrecision(dets, gts, { numClasses: C, iouThreshold: 0.5 });
  const range = meanAveragePrecisionRange(dets, gts, { numClasses: C });
  return { loss: m.loss, accuracy: NaN, mse: NaN, samples: n, detection: { map50: r50.map, map: range.map, ap50: r50.ap, examples } };
}
