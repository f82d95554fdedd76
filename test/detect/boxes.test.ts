import { describe, expect, it } from 'vitest';
import { boxArea, ciou, decodeDetections, decodePredictions, giou, iou, sigmoid, type Box, type HeadScale } from '../../src/detect/boxes';
import { Rng } from '../../src/util/rng';

const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1 });

describe('IoU, GIoU, CIoU on hand cases', () => {
  it('identical boxes: all three are 1', () => {
    // I = U = 4 → IoU 1; C = the box → GIoU 1; ρ = 0, v = 0 → CIoU 1
    const a = box(1, 2, 3, 4);
    expect(iou(a, a)).toBe(1);
    expect(giou(a, a)).toBe(1);
    expect(ciou(a, a)).toBe(1);
  });

  it('disjoint boxes', () => {
    // a = [0,0,1,1], b = [2,0,3,1]: I = 0, U = 2 → IoU 0
    // C = [0,0,3,1], area 3 → GIoU = 0 − (3 − 2)/3 = −1/3
    // centres (0.5, 0.5), (2.5, 0.5): ρ² = 4; c² = 3² + 1² = 10; same aspect → v = 0
    // CIoU = 0 − 4/10 = −0.4
    const a = box(0, 0, 1, 1), b = box(2, 0, 3, 1);
    expect(iou(a, b)).toBe(0);
    expect(giou(a, b)).toBeCloseTo(-1 / 3, 12);
    expect(ciou(a, b)).toBeCloseTo(-0.4, 12);
  });

  it('touching boxes (a shared edge) have no overlap', () => {
    // a = [0,0,1,1], b = [1,0,2,1]: I = 0, U = 2 → IoU 0; C = [0,0,2,1], area 2 = U → GIoU 0
    // ρ² = 1, c² = 2² + 1² = 5, v = 0 → CIoU = −0.2
    const a = box(0, 0, 1, 1), b = box(1, 0, 2, 1);
    expect(iou(a, b)).toBe(0);
    expect(giou(a, b)).toBe(0);
    expect(ciou(a, b)).toBeCloseTo(-0.2, 12);
    // touching at a corner only
    expect(iou(a, box(1, 1, 2, 2))).toBe(0);
  });

  it('nested, concentric, same aspect', () => {
    // a = [0,0,4,4] holds b = [1,1,3,3]: I = 4, U = 16 → IoU 0.25; C = a → GIoU = IoU = 0.25
    // same centre (ρ = 0), same aspect (v = 0) → CIoU = 0.25
    const a = box(0, 0, 4, 4), b = box(1, 1, 3, 3);
    expect(iou(a, b)).toBe(0.25);
    expect(giou(a, b)).toBe(0.25);
    expect(ciou(a, b)).toBeCloseTo(0.25, 12);
  });

  it('nested in a corner, another aspect: every CIoU term', () => {
    // a = [0,0,4,4], b = [0,0,2,1]: I = 2, U = 16 → IoU = 0.125; C = a → GIoU = 0.125
    // centres (2,2), (1,0.5): ρ² = 1 + 2.25 = 3.25; c² = 4² + 4² = 32 → ρ²/c² = 0.1015625
    // v = 4/π²·(atan(2/1) − atan(4/4))² = 0.405285·(1.107149 − 0.785398)² = 0.0419565
    // α = v/(1 − 0.125 + v) = 0.0419565/0.9169565 = 0.0457562, α·v = 0.0019198
    // CIoU = 0.125 − 0.1015625 − 0.0019198 = 0.0215177
    const a = box(0, 0, 4, 4), b = box(0, 0, 2, 1);
    expect(iou(a, b)).toBe(0.125);
    expect(giou(a, b)).toBe(0.125);
    expect(ciou(a, b)).toBeCloseTo(0.0215177, 6);
    expect(ciou(b, a)).toBeCloseTo(0.0215177, 6); // symmetric
  });

  it('partial overlap', () => {
    // a = [0,0,2,2], b = [1,1,3,3]: I = 1, U = 4 + 4 − 1 = 7 → IoU 1/7
    // C = [0,0,3,3], area 9 → GIoU = 1/7 − 2/9 = −5/63
    // ρ² = 1 + 1 = 2, c² = 9 + 9 = 18 → 1/9; v = 0 → CIoU = 1/7 − 1/9 = 2/63
    const a = box(0, 0, 2, 2), b = box(1, 1, 3, 3);
    expect(iou(a, b)).toBeCloseTo(1 / 7, 12);
    expect(giou(a, b)).toBeCloseTo(-5 / 63, 12);
    expect(ciou(a, b)).toBeCloseTo(2 / 63, 12);
  });

  it('small boxes far apart: GIoU near −1', () => {
    // U = 2, C = [0,0,100,100], area 10⁴ → GIoU = −(10⁴ − 2)/10⁴ = −0.9998
    expect(giou(box(0, 0, 1, 1), box(99, 99, 100, 100))).toBeCloseTo(-0.9998, 12);
  });

  it('empty boxes: area 0, IoU 0, no NaN', () => {
    expect(boxArea(box(2, 2, 1, 1))).toBe(0);
    const p = box(1, 1, 1, 1);
    expect(iou(p, p)).toBe(0);
    expect(Number.isFinite(giou(p, p))).toBe(true);
    expect(Number.isFinite(ciou(p, box(0, 0, 2, 0)))).toBe(true);
  });

  it('random boxes: 0 ≤ IoU ≤ 1, −1 ≤ GIoU ≤ IoU, −2 < CIoU ≤ IoU, all symmetric', () => {
    const rng = new Rng(7);
    const rand = (): Box => {
      const x = rng.range(0, 100), y = rng.range(0, 100);
      return box(x, y, x + rng.range(0.5, 60), y + rng.range(0.5, 60));
    };
    let negative = 0;
    for (let n = 0; n < 2000; n++) {
      const a = rand(), b = rand();
      const i = iou(a, b), g = giou(a, b), c = ciou(a, b);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThanOrEqual(1);
      expect(g).toBeGreaterThanOrEqual(-1);
      expect(g).toBeLessThanOrEqual(i + 1e-12);
      expect(c).toBeGreaterThan(-2);
      expect(c).toBeLessThanOrEqual(i + 1e-12);
      expect(giou(b, a)).toBeCloseTo(g, 12);
      expect(ciou(b, a)).toBeCloseTo(c, 12);
      if (g < 0) negative++;
    }
    expect(negative).toBeGreaterThan(100); // the range is exercised
  });
});

/** An NCHW head map B × A(5+C) × S × S, filled with `fill`, with a setter by (b, a, k, row, col). */
function headMap(B: number, A: number, C: number, S: number, fill = 0) {
  const F = 5 + C;
  const map = new Float32Array(B * A * F * S * S).fill(fill);
  const set = (b: number, a: number, k: number, r: number, q: number, v: number) => {
    map[((b * A * F + a * F + k) * S + r) * S + q] = v;
  };
  return { map, set };
}

describe('YOLO decoding', () => {
  it('one scale: the box of one anchor of one cell, worked by hand', () => {
    // S = 2, stride 16, A = 2 anchors (10×20, 30×40), C = 3, B = 1.
    // Anchor 1 at row 1, column 0: tx = 0 → σ = 0.5; ty = ln 3 → σ = 3/4; tw = ln 2; th = 0;
    // obj = ln 4 → σ = 4/5; cls logits (0, ln 3, 0) → softmax (1/5, 3/5, 1/5).
    // cx = (0.5 + 0)·16 = 8, cy = (0.75 + 1)·16 = 28, w = 30·2 = 60, h = 40·1 = 40
    // box: x0 = 8 − 30 = −22, x1 = 38, y0 = 28 − 20 = 8, y1 = 48; score of class 1 = 0.8·0.6 = 0.48.
    const { map, set } = headMap(1, 2, 3, 2, -30); // other cells: σ(−30) ≈ 1e−13 objectness
    for (let k = 0; k < 8; k++) set(0, 1, k, 1, 0, 0);
    set(0, 1, 1, 1, 0, Math.log(3));
    set(0, 1, 2, 1, 0, Math.log(2));
    set(0, 1, 4, 1, 0, Math.log(4));
    set(0, 1, 6, 1, 0, Math.log(3));
    const scale: HeadScale = { stride: 16, anchors: [[10, 20], [30, 40]], map };
    const preds = decodePredictions([scale], { numClasses: 3 });
    expect(preds).toHaveLength(1);
    expect(preds[0]).toHaveLength(2 * 2 * 2); // A·S·S
    const p = preds[0]!.find((x) => x.anchor === 1 && x.row === 1 && x.col === 0)!;
    expect(p.cx).toBeCloseTo(8, 5);
    expect(p.cy).toBeCloseTo(28, 5);
    expect(p.w).toBeCloseTo(60, 5);
    expect(p.h).toBeCloseTo(40, 5);
    expect(p.x0).toBeCloseTo(-22, 5);
    expect(p.y0).toBeCloseTo(8, 5);
    expect(p.x1).toBeCloseTo(38, 5);
    expect(p.y1).toBeCloseTo(48, 5);
    expect(p.obj).toBeCloseTo(0.8, 6);
    expect([...p.probs].map((v) => +v.toFixed(6))).toEqual([0.2, 0.6, 0.2]);

    const dets = decodeDetections([scale], { numClasses: 3, scoreThreshold: 0.01 });
    expect(dets[0]).toHaveLength(1);
    expect(dets[0]![0]!.cls).toBe(1);
    expect(dets[0]![0]!.score).toBeCloseTo(0.48, 6);
    expect(dets[0]![0]!.x0).toBeCloseTo(-22, 5);

    // one detection per class: scores 0.16, 0.48, 0.16
    const all = decodeDetections([scale], { numClasses: 3, scoreThreshold: 0.01, classes: 'all' });
    expect(all[0]!.map((d) => [d.cls, +d.score.toFixed(6)])).toEqual([[0, 0.16], [1, 0.48], [2, 0.16]]);
  });

  it('an all-zero cell: the anchor box centred in the cell, objectness ½, uniform classes', () => {
    // S = 3, stride 8, one anchor 12×6, C = 2; cell (row 2, col 1): cx = (0.5 + 1)·8 = 12,
    // cy = (0.5 + 2)·8 = 20, w = 12, h = 6 → [6, 17, 18, 23]; score = 0.5·0.5 = 0.25
    const { map } = headMap(1, 1, 2, 3, 0);
    const preds = decodePredictions([{ stride: 8, anchors: [[12, 6]], map }], { numClasses: 2 });
    const p = preds[0]!.find((x) => x.row === 2 && x.col === 1)!;
    expect([p.x0, p.y0, p.x1, p.y1]).toEqual([6, 17, 18, 23]);
    expect(p.obj * p.probs[0]!).toBeCloseTo(0.25, 12);
  });

  it('two scales and two images: each box from its own scale, image and anchor', () => {
    // scale 0: S = 2, stride 16, anchors (8×8, 16×16), C = 2; scale 1: S = 1, stride 32, anchor 50×40.
    // Image 1, scale 0, anchor 0, row 0, col 1: all t = 0, obj = 10, cls (0, 2):
    //   cx = (0.5 + 1)·16 = 24, cy = 8, w = h = 8 → [20, 4, 28, 12], class 1
    // Image 0, scale 1, anchor 0, the one cell: tx = ty = 0, tw = ln 1.5, th = ln 0.5, obj = 10, cls (3, 0):
    //   cx = cy = 16, w = 75, h = 20 → [−21.5, 6, 53.5, 26], class 0
    const s0 = headMap(2, 2, 2, 2, -20);
    const s1 = headMap(2, 1, 2, 1, -20);
    for (let k = 0; k < 4; k++) s0.set(1, 0, k, 0, 1, 0);
    s0.set(1, 0, 4, 0, 1, 10);
    s0.set(1, 0, 5, 0, 1, 0);
    s0.set(1, 0, 6, 0, 1, 2);
    s1.set(0, 0, 0, 0, 0, 0);
    s1.set(0, 0, 1, 0, 0, 0);
    s1.set(0, 0, 2, 0, 0, Math.log(1.5));
    s1.set(0, 0, 3, 0, 0, Math.log(0.5));
    s1.set(0, 0, 4, 0, 0, 10);
    s1.set(0, 0, 5, 0, 0, 3);
    s1.set(0, 0, 6, 0, 0, 0);
    const scales: HeadScale[] = [
      { stride: 16, anchors: [[8, 8], [16, 16]], map: s0.map },
      { stride: 32, anchors: [[50, 40]], map: s1.map, grid: 1 },
    ];
    const preds = decodePredictions(scales, { numClasses: 2, batch: 2 });
    expect(preds.map((p) => p.length)).toEqual([2 * 2 * 2 + 1, 2 * 2 * 2 + 1]);
    const dets = decodeDetections(scales, { numClasses: 2, batch: 2, scoreThreshold: 0.5 });
    expect(dets[0]).toHaveLength(1);
    expect(dets[1]).toHaveLength(1);
    const d0 = dets[0]![0]!, d1 = dets[1]![0]!;
    expect(d0.cls).toBe(0);
    expect([d0.x0, d0.y0, d0.x1, d0.y1].map((v) => +v.toFixed(4))).toEqual([-21.5, 6, 53.5, 26]);
    expect(d0.score).toBeCloseTo(sigmoid(10) * Math.exp(3) / (Math.exp(3) + 1), 6);
    expect(d1.cls).toBe(1);
    expect([d1.x0, d1.y0, d1.x1, d1.y1].map((v) => +v.toFixed(4))).toEqual([20, 4, 28, 12]);
    expect(d1.score).toBeCloseTo(sigmoid(10) * Math.exp(2) / (Math.exp(2) + 1), 6);
    const p1 = preds[1]!.find((p) => p.scale === 0 && p.anchor === 0 && p.row === 0 && p.col === 1)!;
    expect(p1.cx).toBeCloseTo(24, 5);
    expect(p1.cy).toBeCloseTo(8, 5);
  });

  it('rejects a map whose length does not fit the shape', () => {
    const map = new Float32Array(7 * 5);
    expect(() => decodePredictions([{ stride: 8, anchors: [[1, 1]], map }], { numClasses: 2 })).toThrow(/not 1 × 7 × S × S/);
    expect(() => decodePredictions([{ stride: 8, anchors: [[1, 1]], map: new Float32Array(7 * 4), grid: 3 }], { numClasses: 2 })).toThrow(/S = 3/);
  });

  it('sigmoid is stable at large |x|', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(-3)).toBeCloseTo(1 - sigmoid(3), 15);
  });
});
