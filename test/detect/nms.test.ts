import { describe, expect, it } from 'vitest';
import type { Detection } from '../../src/detect/boxes';
import { nms, nmsBatch } from '../../src/detect/nms';

const det = (x0: number, y0: number, x1: number, y1: number, score: number, cls = 0): Detection => ({ x0, y0, x1, y1, score, cls });

describe('class-wise NMS', () => {
  it('two overlapping boxes of one class: the higher score is kept', () => {
    // [0,0,10,10] and [1,0,11,10]: I = 90, U = 110 → IoU 0.818 > 0.5
    const a = det(0, 0, 10, 10, 0.6), b = det(1, 0, 11, 10, 0.9);
    expect(nms([a, b], { iouThreshold: 0.5 })).toEqual([b]);
  });

  it('the same two boxes of different classes: both kept, highest score first', () => {
    const a = det(0, 0, 10, 10, 0.6, 0), b = det(1, 0, 11, 10, 0.9, 1);
    expect(nms([a, b], { iouThreshold: 0.5 })).toEqual([b, a]);
  });

  it('threshold edge: IoU equal to the threshold is kept, above it suppressed', () => {
    // [0,0,10,10] and [5,0,15,10]: I = 50, U = 150 → IoU exactly 1/3
    const a = det(0, 0, 10, 10, 0.9), b = det(5, 0, 15, 10, 0.8);
    expect(nms([a, b], { iouThreshold: 1 / 3 })).toEqual([a, b]);
    expect(nms([a, b], { iouThreshold: 0.3 })).toEqual([a]);
    // [0,0,10,10] and [0,0,10,5]: IoU = 50/100 = 0.5 exactly
    const c = det(0, 0, 10, 5, 0.7);
    expect(nms([a, c], { iouThreshold: 0.5 })).toEqual([a, c]);
    expect(nms([a, c], { iouThreshold: 0.49 })).toEqual([a]);
  });

  it('greedy: a box suppressed by nothing kept survives (chain A–B–C)', () => {
    // A = [0,0,10,10], B = [6,0,16,10], C = [12,0,22,10]: IoU(A,B) = IoU(B,C) = 40/160 = 0.25,
    // IoU(A,C) = 0. Threshold 0.2, scores B > A > C: B kept, A and C suppressed by B.
    // Scores A > B > C: A kept, B suppressed by A, C (IoU(A,C) = 0) kept — though B overlapped it.
    const A = det(0, 0, 10, 10, 0.9), B = det(6, 0, 16, 10, 0.8), C = det(12, 0, 22, 10, 0.7);
    expect(nms([C, B, A], { iouThreshold: 0.2 })).toEqual([A, C]);
    const B2 = { ...B, score: 0.95 };
    expect(nms([A, B2, C], { iouThreshold: 0.2 })).toEqual([B2]);
  });

  it('score threshold and max detections', () => {
    const ds = [det(0, 0, 1, 1, 0.2), det(10, 0, 11, 1, 0.5), det(20, 0, 21, 1, 0.9, 1), det(30, 0, 31, 1, 0.05, 2)];
    expect(nms(ds, { iouThreshold: 0.5, scoreThreshold: 0.2 }).map((d) => d.score)).toEqual([0.9, 0.5, 0.2]);
    expect(nms(ds, { iouThreshold: 0.5, scoreThreshold: 0.21 }).map((d) => d.score)).toEqual([0.9, 0.5]);
    // max over all classes, highest first
    expect(nms(ds, { iouThreshold: 0.5, maxDetections: 2 }).map((d) => d.score)).toEqual([0.9, 0.5]);
    expect(nms(ds, { iouThreshold: 0.5, maxDetections: 0 })).toEqual([]);
    // interleaved classes: class 0 scores .9, .3; class 1 .5 → merged by score .9, .5, .3, and the
    // limit is per image over all classes (2 → .9, .5), not per class and not class by class (.9, .3)
    const il = [det(0, 0, 1, 1, 0.3, 0), det(10, 0, 11, 1, 0.5, 1), det(20, 0, 21, 1, 0.9, 0)];
    expect(nms(il, { iouThreshold: 0.5 }).map((d) => d.score)).toEqual([0.9, 0.5, 0.3]);
    expect(nms(il, { iouThreshold: 0.5, maxDetections: 2 }).map((d) => d.score)).toEqual([0.9, 0.5]);
    expect(nms(il, { iouThreshold: 0.5, maxDetections: 1 }).map((d) => d.score)).toEqual([0.9]);
    // a low-score box removed by the score threshold does not suppress anything (it could not anyway),
    // and one above it that overlaps a better box is still suppressed
    const o = [det(0, 0, 10, 10, 0.9), det(0, 0, 10, 9, 0.4), det(0, 0, 10, 8, 0.1)];
    expect(nms(o, { iouThreshold: 0.5, scoreThreshold: 0.3 })).toEqual([o[0]]);
  });

  it('a suppressed box does not suppress others', () => {
    // A = [0,0,10,10] (0.9), B = [3,0,13,10] (0.8): IoU = 70/130 = 0.54 → B suppressed by A.
    // D = [9,0,19,10] (0.7): IoU(A,D) = 10/190 = 0.05, IoU(B,D) = 40/160 = 0.25. Threshold 0.2:
    // D survives, since B, which would have suppressed it, was removed first.
    const A = det(0, 0, 10, 10, 0.9), B = det(3, 0, 13, 10, 0.8), D = det(9, 0, 19, 10, 0.7);
    expect(nms([D, B, A], { iouThreshold: 0.2 })).toEqual([A, D]);
  });

  it('ties keep input order; a batch runs image by image; the input is not changed', () => {
    const a = det(0, 0, 10, 10, 0.5), b = det(0, 0, 10, 10, 0.5);
    const input = [a, b];
    expect(nms(input, { iouThreshold: 0.5 })[0]).toBe(a);
    expect(input).toEqual([a, b]);
    const out = nmsBatch([[a, b], [], [b]], { iouThreshold: 0.5 });
    expect(out.map((x) => x.length)).toEqual([1, 0, 1]);
  });
});
