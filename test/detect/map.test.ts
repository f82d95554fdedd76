import { describe, expect, it } from 'vitest';
import type { Box, Detection } from '../../src/detect/boxes';
import {
  averagePrecision,
  classPrCurve,
  COCO_IOU_THRESHOLDS,
  meanAveragePrecision,
  meanAveragePrecisionRange,
  type GroundTruth,
} from '../../src/detect/map';

const B = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1 });
const gt = (b: Box, cls = 0, difficult = false): GroundTruth => ({ ...b, cls, difficult });
const det = (b: Box, score: number, cls = 0): Detection => ({ ...b, score, cls });

// unit boxes 10×10 in a row, far apart from each other
const G1 = B(0, 0, 10, 10), G2 = B(20, 0, 30, 10), G3 = B(40, 0, 50, 10);
const FAR = B(200, 200, 210, 210);

describe('averagePrecision (VOC all-point)', () => {
  it('TP, FP, TP over 3 positives', () => {
    // precision 1, 0.5, 0.667 at recall 1/3, 1/3, 2/3; mrec = [0, ⅓, ⅓, ⅔, 1], mpre = [0, 1, .5, .667, 0]
    // monotone from the right: [1, 1, .667, .667, 0]; recall changes 0→⅓ (×1) and ⅓→⅔ (×.667), ⅔→1 (×0)
    // AP = 1·⅓ + ⅔·⅓ = 5/9 = 0.5556
    expect(averagePrecision([1 / 3, 1 / 3, 2 / 3], [1, 0.5, 2 / 3])).toBeCloseTo(5 / 9, 12);
  });

  it('the monotone step matters: TP, FP, TP, TP over 3 positives', () => {
    // precision 1, .5, .667, .75 at recall ⅓, ⅓, ⅔, 1; interpolated: 1 up to ⅓, then .75 (the max to the right)
    // AP = 1·⅓ + .75·⅓ + .75·⅓ = 0.8333; without the monotone step: ⅓ + .667·⅓ + .75·⅓ = 0.8056
    expect(averagePrecision([1 / 3, 1 / 3, 2 / 3, 1], [1, 0.5, 2 / 3, 0.75])).toBeCloseTo(5 / 6, 12);
    // FP, TP, TP over 2 positives: precision 0, .5, .667 at recall 0, .5, 1 → interpolated .667 everywhere
    // AP = .667·.5 + .667·.5 = 2/3 (not .5·.5 + .667·.5 = 0.5833)
    expect(averagePrecision([0, 0.5, 1], [0, 0.5, 2 / 3])).toBeCloseTo(2 / 3, 12);
  });

  it('empty curve: AP 0; perfect curve: AP 1', () => {
    expect(averagePrecision([], [])).toBe(0);
    expect(averagePrecision([0.5, 1], [1, 1])).toBe(1);
  });
});

describe('mAP matching and AP over a data set', () => {
  it('TP, FP, TP sorted by score across images → AP 5/9', () => {
    // image 0: gts G1, G2; image 1: gt G3 (3 positives).
    // detections: image 0 FP (0.8, nowhere) and TP (0.7, on G2); image 1 TP (0.9, on G3).
    // sorted over the whole set: .9 TP, .8 FP, .7 TP → the curve above → AP = 5/9 = 0.5556
    // (image by image without the global sort: FP, TP, TP → (⅓ + ⅓)·⅔ = 0.4444)
    const gts = [[gt(G1), gt(G2)], [gt(G3)]];
    const dets = [[det(FAR, 0.8), det(G2, 0.7)], [det(G3, 0.9)]];
    const c = classPrCurve(dets, gts, 0, 0.5);
    expect(c.tp).toEqual([1, 0, 1]);
    expect(c.positives).toBe(3);
    const r = meanAveragePrecision(dets, gts, { numClasses: 1 });
    expect(r.ap[0]).toBeCloseTo(5 / 9, 10);
    expect(r.map).toBeCloseTo(5 / 9, 10);
  });

  it('TP, FP, TP, TP: the interpolated precision → AP 5/6', () => {
    const gts = [[gt(G1), gt(G2), gt(G3)]];
    const dets = [[det(G1, 0.9), det(FAR, 0.8), det(G2, 0.7), det(G3, 0.6)]];
    // as the second averagePrecision case: AP = ⅓ + .75·⅔ = 0.8333
    expect(meanAveragePrecision(dets, gts, { numClasses: 1 }).ap[0]).toBeCloseTo(5 / 6, 10);
  });

  it('a duplicate detection is a false positive (a gt is matched once)', () => {
    // gts G1, G2; detections .9 on G1 (TP), .8 on G1 again (FP: G1 already matched), .7 on G2 (TP)
    // precision 1, .5, .667 at recall .5, .5, 1 → AP = .5·1 + .5·.667 = 0.8333
    // (matching G1 twice would give recall 1.5 and AP ≠ 5/6)
    const gts = [[gt(G1), gt(G2)]];
    const dets = [[det(G1, 0.9), det(G1, 0.8), det(G2, 0.7)]];
    expect(classPrCurve(dets, gts, 0, 0.5).tp).toEqual([1, 0, 1]);
    expect(meanAveragePrecision(dets, gts, { numClasses: 1 }).ap[0]).toBeCloseTo(5 / 6, 10);
  });

  it('VOC rule: the detection takes its highest-IoU gt, with no fallback when that one is matched', () => {
    // Ga = [0,0,10,10], Gb = [3,0,13,10] (listed in that order).
    // d1 = Ga (.9): IoU Ga 1, Gb 70/130 = .54 → TP on Ga.
    // d2 = [1,0,11,10] (.8): IoU Ga 90/110 = .82 (highest, matched), Gb 80/120 = .67 → FP (no fallback to Gb)
    // d3 = Gb (.7): IoU Gb 1 → TP.   tp = 1, 0, 1 → precision 1, .5, .667 at recall .5, .5, 1 → AP 5/6
    // (with a fallback to the best unmatched gt: TP, TP, FP → AP 1)
    const Ga = B(0, 0, 10, 10), Gb = B(3, 0, 13, 10);
    const gts = [[gt(Ga), gt(Gb)]];
    const dets = [[det(Ga, 0.9), det(B(1, 0, 11, 10), 0.8), det(Gb, 0.7)]];
    expect(classPrCurve(dets, gts, 0, 0.5).tp).toEqual([1, 0, 1]);
    expect(meanAveragePrecision(dets, gts, { numClasses: 1 }).ap[0]).toBeCloseTo(5 / 6, 10);

    // highest IoU, not the first gt above the threshold: Ga = [0,0,10,10], Gc = [2,0,12,10];
    // e1 = Gc (.9): IoU Ga 80/120 = .67, Gc 1 → TP on Gc; e2 = Ga (.8) → TP on Ga → AP 1
    // (taking the first gt above .5, e1 would take Ga and e2 be a duplicate: TP, FP → AP .5)
    const Gc = B(2, 0, 12, 10);
    const gts2 = [[gt(Ga), gt(Gc)]];
    const dets2 = [[det(Gc, 0.9), det(Ga, 0.8)]];
    expect(meanAveragePrecision(dets2, gts2, { numClasses: 1 }).ap[0]).toBe(1);
  });

  it('IoU ≥ threshold: exactly at the threshold is a TP', () => {
    // gt [0,0,10,10], detection [0,0,10,5]: IoU = 50/100 = 0.5 → TP at .5 (AP 1), FP at .55 (AP 0)
    const gts = [[gt(G1)]];
    const dets = [[det(B(0, 0, 10, 5), 0.9)]];
    expect(meanAveragePrecision(dets, gts, { numClasses: 1, iouThreshold: 0.5 }).ap[0]).toBe(1);
    expect(meanAveragePrecision(dets, gts, { numClasses: 1, iouThreshold: 0.55 }).ap[0]).toBe(0);
  });

  it('a difficult gt: its detection ignored, and it is not a positive', () => {
    // image 0: G1 (normal), D = G2 (difficult) → 1 positive.
    // detections: .9 on D (ignored), .8 nowhere (FP), .7 on G1 (TP); D matched again at .6 (still ignored)
    // over the non-ignored: FP, TP → precision 0, .5 at recall 0, 1 → interpolated .5 → AP = 0.5
    // (D counted as a positive: recall 0, .5 → AP .25; the ignored detection as an FP: FP, FP, TP → AP ⅓)
    const gts = [[gt(G1), gt(G2, 0, true)]];
    const dets = [[det(G2, 0.9), det(FAR, 0.8), det(G1, 0.7), det(G2, 0.6)]];
    const c = classPrCurve(dets, gts, 0, 0.5);
    expect(c.positives).toBe(1);
    expect(c.tp).toEqual([0, 1]);
    const r = meanAveragePrecision(dets, gts, { numClasses: 1 });
    expect(r.positives).toEqual([1]);
    expect(r.ap[0]).toBeCloseTo(0.5, 12);
  });

  it('a class with only difficult gts has no positives: AP null, not in the mean', () => {
    const gts = [[gt(G1), gt(G2, 1, true)]];
    const dets = [[det(G1, 0.9), det(G2, 0.8, 1)]];
    const r = meanAveragePrecision(dets, gts, { numClasses: 2 });
    expect(r.ap).toEqual([1, null]);
    expect(r.map).toBe(1);
  });

  it('classes: one perfect, one with gts and no detections (AP 0), one with detections and no gts (excluded)', () => {
    // class 0: AP 1; class 1: 2 positives, no detection → AP 0; class 2: only an FP, no gt → null.
    // mAP = (1 + 0)/2 = 0.5. A class-1 box on G1's place does not match the class-0 detection there.
    const gts = [[gt(G1, 0), gt(G2, 1)], [gt(G1, 1)]];
    const dets = [[det(G1, 0.9, 0), det(G3, 0.5, 2)], [det(G1, 0.8, 0)]];
    const r = meanAveragePrecision(dets, gts, { numClasses: 3 });
    expect(r.positives).toEqual([1, 2, 0]);
    // class 0: .9 TP (image 0), .8 FP (image 1 has no class-0 gt) → precision 1, .5 at recall 1, 1 → AP 1
    expect(r.ap).toEqual([1, 0, null]);
    expect(r.map).toBe(0.5);
  });

  it('a perfect detector over several images and classes: AP 1 and mAP 1, a trailing low-score FP changes nothing', () => {
    const gts = [[gt(G1, 0), gt(G2, 1)], [gt(G3, 0), gt(G1, 2)], []];
    const dets = [
      [det(B(0.5, 0, 10.5, 10), 0.6, 0), det(G2, 0.7, 1)],
      [det(G3, 0.95, 0), det(G1, 0.3, 2)],
      [det(FAR, 0.01, 0)],
    ];
    const r = meanAveragePrecision(dets, gts, { numClasses: 3 });
    expect(r.ap).toEqual([1, 1, 1]);
    expect(r.map).toBe(1);
  });

  it('rejects detections and ground truth of different image counts', () => {
    expect(() => meanAveragePrecision([[]], [[], []], { numClasses: 1 })).toThrow(/images/);
  });
});

describe('mAP@[.5:.95]', () => {
  it('the thresholds are 0.50, 0.55, …, 0.95', () => {
    expect(COCO_IOU_THRESHOLDS).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
  });

  it('IoU 0.72 passes 0.5 … 0.7 only: 5 of 10 thresholds → 0.5', () => {
    // gt [0,0,100,100], detection [0,0,100,72]: IoU = 7200/10000 = 0.72
    // AP = 1 at t = .50, .55, .60, .65, .70 and 0 at .75 … .95 → mean 5/10 = 0.5
    const gts = [[gt(B(0, 0, 100, 100))]];
    const dets = [[det(B(0, 0, 100, 72), 0.9)]];
    const r = meanAveragePrecisionRange(dets, gts, { numClasses: 1 });
    expect(r.perThreshold.map((p) => p.map)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(r.map).toBeCloseTo(0.5, 12);
    expect(r.ap[0]).toBeCloseTo(0.5, 12);
  });

  it('three classes at IoU 0.72, 0.70 (exactly a threshold) and 0.90 → (0.5 + 0.5 + 0.9)/3', () => {
    // IoU .70 = 7000/10000 passes .50 … .70 (5/10 → .5); IoU .90 passes .50 … .90 (9/10 → .9)
    // mAP@[.5:.95] = (.5 + .5 + .9)/3 = 0.6333; mAP@.5 = 1
    const G = B(0, 0, 100, 100);
    const gts = [[gt(G, 0)], [gt(G, 1)], [gt(G, 2)]];
    const dets = [[det(B(0, 0, 100, 72), 0.9, 0)], [det(B(0, 0, 100, 70), 0.9, 1)], [det(B(0, 0, 100, 90), 0.9, 2)]];
    const r = meanAveragePrecisionRange(dets, gts, { numClasses: 3 });
    expect(r.ap.map((a) => +a!.toFixed(12))).toEqual([0.5, 0.5, 0.9]);
    expect(r.map).toBeCloseTo(1.9 / 3, 12);
    expect(r.perThreshold[0]!.map).toBe(1);
  });
});
