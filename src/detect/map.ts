/**
 * Mean average precision of a detector over a set of images, as the PASCAL VOC devkit computes it
 * (VOCevaldet.m, VOC2010+ all-point AP), plus the COCO-style average over IoU thresholds. Plain
 * TypeScript, browser-safe. IoU is the continuous-coordinate one of boxes.ts (no "+1" pixel).
 *
 * Per class c and IoU threshold t:
 *  1. positives: the ground-truth boxes of class c that are not `difficult`, over all images.
 *  2. the detections of class c over all images, sorted by score (descending; ties keep the
 *     order of the images, then of the detections within an image).
 *  3. each detection in that order, against the ground-truth boxes of class c in its image
 *     (difficult ones included, matched or not): the one with the highest IoU is its candidate
 *     (the first of equals). If that IoU ≥ t: a difficult candidate makes the detection ignored
 *     (neither TP nor FP); an unmatched one makes it a TP and marks the gt matched; an already
 *     matched one makes it an FP (a duplicate) — the detection does not fall back on the
 *     next-best gt (VOC; COCO would). If the IoU < t, or the image has no gt of class c: FP.
 *  4. over the non-ignored detections, cumulative TP and FP give recall_k = TP_k / npos and
 *     precision_k = TP_k / (TP_k + FP_k).
 *  5. AP, all-point interpolation: with mrec = [0, recall…, 1] and mpre = [0, precision…, 0],
 *     mpre is made monotone from the right (mpre_i = max(mpre_i, mpre_{i+1})), and
 *     AP = Σ_{i: mrec_{i+1} ≠ mrec_i} (mrec_{i+1} − mrec_i) · mpre_{i+1},
 *     the area under the step curve of the interpolated precision p(r) = max_{r' ≥ r} precision.
 *     A class with positives and no TP has AP 0.
 * mAP@t is the mean AP over the classes with at least one positive (others: AP null, not counted).
 * mAP@[.5:.95] averages mAP@t over t = 0.50, 0.55, …, 0.95 (ten thresholds, the same routine at
 * each; not COCO's 101-point interpolation, area ranges or max-detection limits).
 */
import { iou, type Box, type Detection } from './boxes';

/** A ground-truth box; `difficult` ones are neither required nor penalised (VOC). */
export interface GroundTruth extends Box {
  cls: number;
  difficult?: boolean;
}

/** The result at one IoU threshold. */
export interface MapResult {
  iouThreshold: number;
  /** Mean over the classes with positives (0 when no class has any). */
  map: number;
  /** Per class, length numClasses: AP, or null for a class without positives. */
  ap: (number | null)[];
  /** Per class: non-difficult gt boxes. */
  positives: number[];
}

export interface MapOptions {
  numClasses: number;
  /** Default 0.5. */
  iouThreshold?: number;
}

/** One class's precision–recall curve at one threshold (over the non-ignored detections). */
export interface PrCurve {
  precision: number[];
  recall: number[];
  /** Per sorted non-ignored detection: 1 for TP, 0 for FP. */
  tp: number[];
  positives: number;
}

/** VOC all-point AP of a precision–recall curve (recall non-decreasing). */
export function averagePrecision(recall: readonly number[], precision: readonly number[]): number {
  if (recall.length !== precision.length) throw new Error('recall and precision differ in length');
  const mrec = [0, ...recall, 1];
  const mpre = [0, ...precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i]!, mpre[i + 1]!);
  let ap = 0;
  for (let i = 0; i + 1 < mrec.length; i++) {
    if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1]! - mrec[i]!) * mpre[i + 1]!;
  }
  return ap;
}

function checkImages(detections: readonly unknown[], groundTruth: readonly unknown[]): void {
  if (detections.length !== groundTruth.length) {
    throw new Error(`${detections.length} images of detections but ${groundTruth.length} of ground truth`);
  }
}

/** The precision–recall curve of class `cls` at IoU threshold `t`, matched as the header says. */
export function classPrCurve(
  detections: readonly (readonly Detection[])[],
  groundTruth: readonly (readonly GroundTruth[])[],
  cls: number,
  t: number,
): PrCurve {
  checkImages(detections, groundTruth);
  const gts = groundTruth.map((g) => g.filter((b) => b.cls === cls));
  const matched = gts.map((g) => new Uint8Array(g.length));
  let positives = 0;
  for (const g of gts) for (const b of g) if (!b.difficult) positives++;
  const dets: { d: Detection; img: number; order: number }[] = [];
  let order = 0;
  detections.forEach((list, img) => {
    for (const d of list) if (d.cls === cls) dets.push({ d, img, order: order++ });
  });
  dets.sort((a, b) => b.d.score - a.d.score || a.order - b.order);
  const tp: number[] = [];
  for (const { d, img } of dets) {
    const g = gts[img]!;
    let best = -1;
    let bestIou = -Infinity;
    for (let j = 0; j < g.length; j++) {
      const o = iou(d, g[j]!);
      if (o > bestIou) {
        bestIou = o;
        best = j;
      }
    }
    if (best >= 0 && bestIou >= t) {
      if (g[best]!.difficult) continue; // ignored
      if (!matched[img]![best]) {
        matched[img]![best] = 1;
        tp.push(1);
      } else tp.push(0);
    } else tp.push(0);
  }
  const precision: number[] = [];
  const recall: number[] = [];
  let ctp = 0;
  tp.forEach((x, k) => {
    ctp += x;
    precision.push(ctp / (k + 1));
    recall.push(positives > 0 ? ctp / positives : 0);
  });
  return { precision, recall, tp, positives };
}

/** VOC mAP at one IoU threshold (default 0.5), with per-class AP. */
export function meanAveragePrecision(
  detections: readonly (readonly Detection[])[],
  groundTruth: readonly (readonly GroundTruth[])[],
  options: MapOptions,
): MapResult {
  const t = options.iouThreshold ?? 0.5;
  const ap: (number | null)[] = [];
  const positives: number[] = [];
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < options.numClasses; c++) {
    const curve = classPrCurve(detections, groundTruth, c, t);
    positives.push(curve.positives);
    if (curve.positives === 0) {
      ap.push(null);
      continue;
    }
    const a = averagePrecision(curve.recall, curve.precision);
    ap.push(a);
    sum += a;
    counted++;
  }
  return { iouThreshold: t, map: counted > 0 ? sum / counted : 0, ap, positives };
}

/** The thresholds of mAP@[.5:.95]: 0.50, 0.55, …, 0.95. */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, k) => (50 + 5 * k) / 100);

export interface MapRangeResult {
  /** Mean of `perThreshold[k].map`. */
  map: number;
  /** Per class: AP averaged over the thresholds, or null for a class without positives. */
  ap: (number | null)[];
  perThreshold: MapResult[];
}

/** COCO-style mAP@[.5:.95]: the VOC routine at each threshold, averaged. */
export function meanAveragePrecisionRange(
  detections: readonly (readonly Detection[])[],
  groundTruth: readonly (readonly GroundTruth[])[],
  options: { numClasses: number; iouThresholds?: readonly number[] },
): MapRangeResult {
  const ts = options.iouThresholds ?? COCO_IOU_THRESHOLDS;
  if (ts.length === 0) throw new Error('no IoU thresholds');
  const perThreshold = ts.map((t) => meanAveragePrecision(detections, groundTruth, { numClasses: options.numClasses, iouThreshold: t }));
  const map = perThreshold.reduce((s, r) => s + r.map, 0) / ts.length;
  const ap = Array.from({ length: options.numClasses }, (_, c) =>
    perThreshold[0]!.ap[c] === null ? null : perThreshold.reduce((s, r) => s + r.ap[c]!, 0) / ts.length,
  );
  return { map, ap, perThreshold };
}
