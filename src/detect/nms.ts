/**
 * Class-wise non-maximum suppression for one image's detections. Plain TypeScript, browser-safe.
 *
 * Per class: the detections with score ≥ `scoreThreshold` are sorted by score (descending; ties
 * keep their input order), and greedily, the highest remaining one is kept and every remaining
 * one of the same class whose IoU with it is greater than `iouThreshold` is removed. An IoU equal
 * to the threshold is not suppressed (as torchvision's `nms`). Boxes of different classes never
 * suppress each other. The kept detections of all classes are then merged, sorted by score and cut
 * to `maxDetections` (per image).
 */
import { iou, type Detection } from './boxes';

export interface NmsOptions {
  /** Suppress a box whose IoU with a kept box of its class is > this. */
  iouThreshold: number;
  /** Drop detections with score below this first (default: keep all). */
  scoreThreshold?: number;
  /** Keep at most this many detections per image, the highest-scoring (default: all). */
  maxDetections?: number;
}

/** Class-wise NMS of one image's detections; returns the kept ones, highest score first. */
export function nms<T extends Detection>(detections: readonly T[], options: NmsOptions): T[] {
  const thr = options.scoreThreshold ?? -Infinity;
  const order = detections
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.score >= thr)
    .sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const byClass = new Map<number, { d: T; i: number }[]>();
  for (const e of order) {
    let list = byClass.get(e.d.cls);
    if (!list) byClass.set(e.d.cls, (list = []));
    list.push(e);
  }
  const kept: { d: T; i: number }[] = [];
  for (const list of byClass.values()) {
    const removed = new Uint8Array(list.length);
    for (let i = 0; i < list.length; i++) {
      if (removed[i]) continue;
      const keep = list[i]!;
      kept.push(keep);
      for (let j = i + 1; j < list.length; j++) {
        if (!removed[j] && iou(keep.d, list[j]!.d) > options.iouThreshold) removed[j] = 1;
      }
    }
  }
  kept.sort((a, b) => b.d.score - a.d.score || a.i - b.i);
  const max = options.maxDetections ?? Infinity;
  return kept.slice(0, Math.max(0, max)).map((e) => e.d);
}

/** `nms` on each image of a batch. */
export function nmsBatch<T extends Detection>(images: readonly (readonly T[])[], options: NmsOptions): T[][] {
  return images.map((dets) => nms(dets, options));
}
